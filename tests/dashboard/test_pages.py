"""Every page through Streamlit's AppTest on a store of real small runs; bad runs give plain messages."""

import os
import sqlite3
from contextlib import closing

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import APP


def page(root, name, **query):
    os.environ["AGORA_STORE"] = str(root)
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    if name != "runs":
        at.switch_page(f"views/{name}.py")
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption", "info", "warning", "subheader", "title")
                    for e in at.get(kind))


def test_runs_lists_every_run_with_status_and_filters(dash_store):
    at = page(dash_store["root"], "runs")
    df = at.dataframe[0].value
    assert dash_store["sales"] in set(df["run_id"]) and dash_store["older"] in set(df["run_id"])
    status = df.set_index("run_id")["status"]
    assert status[dash_store["sales"]] == "finished" and status[dash_store["killed"]] == "interrupted"
    assert df.set_index("run_id")["contests"][dash_store["killed"]] == "2/5"
    at.multiselect[0].select("audit").run()  # filter by kind
    assert set(at.dataframe[0].value["kind"]) == {"audit"}


def test_run_detail_shows_messages_thoughts_heatmap_and_cascade(dash_store):
    at = page(dash_store["root"], "run_detail", run=dash_store["social"], contest="1")
    thoughts = at.dataframe[0].value
    assert len(thoughts) == 20 and thoughts["thought"].str.len().min() > 0
    assert at.select_slider[0].value == 1
    assert len(at.get("plotly_chart")) == 2  # choice heatmap and cascade
    assert "saved with the run" in texts(at) and "reach not recorded" not in texts(at)


def test_the_cascade_colours_reach_from_the_cascades_table_and_choices_only_for_older_runs():
    import networkx as nx

    from agora.dashboard import charts

    graph = nx.path_graph(["p1", "p2", "p3", "p4"])
    choices = {"p1": "A", "p2": "A", "p3": "B", "p4": "A"}
    groups = lambda fig: {t.name: sorted(t.text) for t in fig.data if t.name}  # noqa: E731
    reach = {"p1": (True, True), "p2": (True, True), "p3": (True, False), "p4": (False, False)}
    assert groups(charts.cascade(graph, choices, ["p1"], "A", reach)) == {
        "shared it": ["p1", "p2"], "saw it, did not share": ["p3"], "never reached": ["p4"]}
    # p4 chose A but the post never reached p4: only the older view counts p4 in
    assert groups(charts.cascade(graph, choices, ["p1"], "A")) == {
        "chose it": ["p1", "p2", "p4"], "chose another": ["p3"], "abstained": []}


def test_half_written_run_shows_the_contests_done_so_far(dash_store):
    at = page(dash_store["root"], "run_detail", run=dash_store["killed"])
    assert "showing the 2 contests finished so far (interrupted)" in texts(at)
    assert len(at.get("plotly_chart")) == 1 and not at.warning


def test_run_from_an_older_version_gives_a_plain_message(dash_store):
    at = page(dash_store["root"], "run_detail", run=dash_store["older"])
    assert at.warning and "older version of Agora" in at.warning[0].value and "competitors" in at.warning[0].value


def test_trade_off_plots_each_task_and_rebuilds_the_study_table(dash_store):
    at = page(dash_store["root"], "trade_off")
    assert [s.value for s in at.subheader][:2] == ["sales", "social"]
    assert len(at.get("plotly_chart")) == 2
    table = at.dataframe[0].value
    assert {"misrepresentation", "disinformation", "unsafe_encouragement"} <= set(table.columns)
    assert set(table["rate"]) == {"observed", "corrected"}  # each change as the probe saw it and corrected for its error
    assert any("corrected for the probe's sensitivity" in c.value for c in at.caption)
    assert table["win-rate gain"].str.match(r"^[+-]\d+\.\d%  ?\[").all() or table["win-rate gain"].str.contains(r"\[").all()


def test_case_studies_show_base_and_tuned_side_by_side_with_links(dash_store):
    import pandas as pd

    from agora.dashboard.ui import marked

    cases = pd.read_parquet(dash_store["root"] / dash_store["audit"] / "cases.parquet")
    assert len(cases) > 0
    at = page(dash_store["root"], "case_studies")
    at.number_input[0].set_value(200).run()
    shown = " ".join(m.value for m in at.markdown)
    assert f"{len(cases)} of {len(cases)} cases" in texts(at)
    for case in cases.itertuples():  # each text whole, the tuned one with its evidence marked
        assert marked(case.base_text, []) in shown and marked(case.tuned_text, list(case.evidence)) in shown
    assert sum(b.label == f"Open run {cases['eval_run'].iat[0]}" for b in at.button) == len(cases)


def test_evidence_spans_are_marked_at_their_characters():
    from agora.dashboard.ui import marked

    text = "Rated 4.9 by <experts> & loved."
    out = marked(text, [{"start": 6, "end": 9, "reason": "4.9 is not in the source"}, {"start": 13, "end": 22, "reason": "x"}])
    assert out == ('Rated <mark style="background:#ffd6d6" title="4.9 is not in the source">4.9</mark> by '
                   '<mark style="background:#ffd6d6" title="x">&lt;experts&gt;</mark> &amp; loved.')


def test_probes_page_shows_validation_confusion_and_disagreements(dash_store):
    at = page(dash_store["root"], "probes")
    table = at.dataframe[0].value
    assert {"fact", "populism", "manipulation", "classifier"} == set(table["probe"])
    # F1 is undefined (NaN, with a note) only where the gold split has no positives: audience manipulation in real output
    assert table["f1"].dropna().between(0, 1).all() and (table["f1"].notna() | (table["positives"] == 0)).all()
    assert at.radio[0].value == "real-output" and at.radio[0].options == ["hand-written", "real-output"]
    assert len(at.get("plotly_chart")) == 1 + len(table)  # the F1 bars and one confusion matrix per row
    summary = at.dataframe[1].value
    assert (summary["probes disagree"] <= summary["messages"]).all() and summary["probes disagree"].sum() > 0


def test_sweeps_page_shows_the_summary_and_a_metric_across_a_setting(dash_store):
    at = page(dash_store["root"], "sweeps")
    summary = at.dataframe[0].value
    assert len(summary) == 4 and set(summary["status"]) == {"finished"} and summary["contests_done"].tolist() == [2] * 4
    assert "4 of 4 cells finished · 8 contests" in texts(at)
    assert at.selectbox[1].options == ["seed", "sampling.temperature"] and at.selectbox[2].value == "win_share B"
    assert len(at.get("plotly_chart")) == 1


def test_memory_page_says_how_to_make_memory_runs(dash_store):
    at = page(dash_store["root"], "memory")
    assert "No run in this store used a capability yet" in texts(at)


@pytest.mark.parametrize("name", ["runs", "run_detail", "sweeps", "trade_off", "case_studies", "probes", "memory"])
def test_empty_store_pages_say_so_and_create_nothing(tmp_path, name):
    root = tmp_path / "nowhere"
    at = page(root, name)
    assert at.info and not at.warning
    assert not root.exists()


def _store(root):
    """The store as data: every run file's (mtime, size) and the index's rows. The index's files themselves are left
    out: SQLite's WAL readers make and mark ``-wal``/``-shm`` even through a ``mode=ro`` connection, and a writer's
    checkpoint rewrites the main file without changing a row."""
    files = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*")
             if p.is_file() and not p.name.startswith("runs.sqlite")}
    with closing(sqlite3.connect(f"{(root / 'runs.sqlite').as_uri()}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT * FROM runs ORDER BY run_id").fetchall()
    return files, rows


def test_pages_never_write_to_the_store(dash_store):
    root = dash_store["root"]
    before = _store(root)
    assert len(before[1]) >= 5 and any(p.name == "messages.parquet" for p in before[0])
    for name in ("runs", "run_detail", "sweeps", "trade_off", "case_studies", "probes", "memory"):
        page(root, name)
    assert _store(root) == before
