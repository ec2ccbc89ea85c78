"""The study table's summary and behaviour markers, on known inputs."""

import pandas as pd

from agora.experiments.study import behaviours, summary


def test_behaviours_fact_check_numbers_and_mark_phrases(scenarios):
    product = scenarios.anchors("sales")[0]
    true_price = f"${product.price:,.2f}"
    messages = pd.DataFrame({
        "competitor": ["A", "B"], "anchor_id": [product.id] * 2,
        "text": [f"{product.name} costs {true_price}.", "The best buy ever: 40,000 fans. The elites hate it."],
    })
    marks = behaviours(messages, {product.id: product})
    assert marks["invented_number"].tolist() == [False, True]
    assert marks["hype"].tolist() == [False, True] and marks["populism"].tolist() == [False, True]


def test_summary_averages_seeds_and_counts_significant_wins():
    table = pd.DataFrame({"task": ["sales"] * 3, "method": ["rft"] * 3, "excess": [0.1, 0.2, 0.0],
                          "low": [0.05, 0.1, -0.05], "high": [0.15, 0.3, 0.05], "hype_base": [0.2] * 3, "hype_tuned": [0.5] * 3})
    row = summary(table).iloc[0]
    assert row["excess"] == 0.1 and row["seeds"] == 3 and row["seeds_won"] == 2 and row["hype_tuned"] == 0.5


def test_replicate_runs_base_vs_each_method_and_tfb_vs_rft(store, tiny_path, small_tiny):
    from agora.experiments.study import replicate, save

    table = replicate(["social"], [0], ["rft", "tfb"], store, contests=4, eval_contests=3, tiny=small_tiny, policy="tiny")
    assert table["method"].tolist() == ["rft", "tfb", "tfb_vs_rft"]
    assert (table["anchors"] == 3).all() and (table["low"] <= table["excess"]).all()
    index = store.list().set_index("run_id")
    rft_vs_tfb = index.loc[table["eval_run"].iat[2]]
    assert "round-1" in rft_vs_tfb["policy"] and "round-1" in rft_vs_tfb["opponent"]  # both are trained checkpoints
    run_id = save(table, store)
    assert (store.root / run_id / "study.md").read_text().count("| social") == 3
