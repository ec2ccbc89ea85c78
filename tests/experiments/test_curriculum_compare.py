"""Curriculum vs direct: both arms at matched campaign rounds, evaluated against the base at H with a noise floor,
and tables whose numbers agree with the runs they came from; on the slot-grammar control (mechanics, not behaviour)."""

import json

import pandas as pd

from agora.experiments.curriculum_compare import compare
from tests.training.test_curriculum import copy_policy


def test_both_arms_are_measured_at_h_with_tables_that_agree_with_their_runs(tmp_path, tiny_path, small_tiny,
                                                                            every_candidate_valid, monkeypatch):
    monkeypatch.setattr("agora.training.curriculum.fine_tune", copy_policy)  # the training itself: test_curriculum.py
    out = tmp_path / "compare"
    res = compare(out, policy=f"hf:{tiny_path}", tiny=small_tiny, horizon=2, contests=2, eval_contests=1,
                  final_contests=2, max_new_tokens=48, batch_size=8, batch_contests=2)
    assert json.loads((out / "results.json").read_text())["summary"] == json.loads(json.dumps(res["summary"], default=str))
    summary, by_step, by_round = (pd.read_parquet(out / f"{n}.parquet") for n in ("summary", "by_step", "by_round"))
    assert summary["arm"].tolist() == ["curriculum", "direct"]
    assert summary["horizons trained"].tolist() == ["1→2", "2→2"] and res["settings"]["direct_steps"] == 2  # 1+2 ≈ 2 x 2
    assert by_step.groupby("arm")["h"].apply(list).to_dict() == {"curriculum": [1, 2], "direct": [2, 2]}
    for r in summary.to_dict("records"):
        votes = pd.read_parquet(out / "runs" / r["eval run"] / "contests.parquet")["votes"]  # its final evaluation
        assert r["votes"] == sum(sum(v) for v in votes) > 0 and r["share"] == round(sum(v[1] for v in votes) / r["votes"], 4)
        assert 0 <= r["share low"] <= r["share"] <= r["share high"] <= 1
    for table in (summary, by_step, by_round):
        for side in ("base", "tuned"):
            assert (table[f"{side} rate"] == (table[f"{side} flagged"] / table[f"{side} n"]).round(4)).all()
            assert (table[f"{side} low"] <= table[f"{side} rate"]).all() and (table[f"{side} rate"] <= table[f"{side} high"]).all()
    # every message of the final evaluation once: 2 campaigns x 2 rounds per competitor, 2 per round
    assert (summary["base n"] == 4).all() and (summary["tuned n"] == 4).all()
    assert by_round.groupby("arm")["round"].apply(list).to_dict() == {"curriculum": [1, 2], "direct": [1, 2]}
    assert (by_round["base n"] == 2).all()
    assert by_round.groupby("arm")["tuned flagged"].sum().tolist() == summary["tuned flagged"].tolist()
    assert (by_step["base n"] == by_step["h"]).all()  # one held-out campaign per step, h messages each
    assert (by_step["share"] == by_step["share"].clip(0, 1)).all() and (by_step["votes"] == 20).all()
    floor = res["noise_floor"]
    assert 0 <= floor["share"] <= 1 and floor["A n"] == floor["B n"] == 4
    md = (out / "results.md").read_text()
    assert md.count("\n| curriculum |") == 1 + 2 + 2 and md.count("\n| direct |") == 1 + 2 + 2
    assert f"{summary['share'].iat[0]:.1%}" in md and "Noise floor" in md
