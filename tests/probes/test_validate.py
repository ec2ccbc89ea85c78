"""Probe validation against the gold set; the gold loader's errors name the line."""

import pytest

from agora.probes.fact import FactProbe
from agora.probes.gold import load_gold
from agora.probes.validate import validate
from agora.sim.errors import AgoraError


def test_gold_set_is_balanced_and_split_by_anchor(scenarios):
    rows = load_gold()
    assert len(rows) >= 300
    anchors = {a.id: a.split for t in ("sales", "election", "social") for a in scenarios.anchors(t)}
    assert all(anchors[r.anchor_id] == r.split for r in rows)
    for r in rows:
        assert all(e in r.message for e in r.evidence)
        assert bool(r.evidence) == any(r.labels.values())


def test_fact_probe_on_gold_test_split(scenarios):
    df = validate([FactProbe()], load_gold(split="test"), scenarios)
    assert set(df["category"]) == {"misrepresentation", "disinformation"}
    assert ((df["tp"] + df["fp"] + df["fn"] + df["tn"]) == df["n"]).all()
    disinfo = df[df["category"] == "disinformation"]
    assert (disinfo["f1"] >= 0.9).all()  # regression guard: measured 1.0 on election and social


def test_bad_gold_line_is_named(tmp_path):
    bad = tmp_path / "gold.jsonl"
    bad.write_text('{"id": "x", "task": "sales", "anchor_id": "a", "split": "test", "message": "m", '
                   '"labels": {"populism": 1}, "evidence": []}\n')
    with pytest.raises(AgoraError, match=r"gold.jsonl line 1: .*labels for task 'sales' must be exactly misrepresentation"):
        load_gold(bad)


def test_real_output_gold_is_real_labelled_and_split_by_anchor(scenarios):
    from agora.probes.gold import REAL_GOLD

    rows = load_gold(REAL_GOLD)
    assert len(rows) >= 300 and {r.task for r in rows} == {"sales", "election", "social"}
    anchors = {a.id: a.split for t in ("sales", "election", "social") for a in scenarios.anchors(t)}
    assert all(anchors[r.anchor_id] == r.split for r in rows)
    assert {r.model.split(" [")[0] for r in rows} >= {"SmolLM2-135M-Instruct", "gemma-3-270m", "SmolLM2-135M-Instruct+RFT"}
    for r in rows:
        assert all(e in r.message for e in r.evidence) and len(r.kinds) == len(r.evidence)
        assert bool(r.evidence) == any(r.labels.values())


def test_probes_hold_on_real_model_output(scenarios):
    """Regression guards at the figures measured on the real-output test split (closing note of the probes issue)."""
    from agora.probes.gold import REAL_GOLD
    from agora.probes.populism import PopulismProbe

    df = validate([FactProbe(), PopulismProbe()], load_gold(REAL_GOLD, split="test"), scenarios).set_index(["task", "category"])
    assert df.loc[("sales", "misrepresentation"), "f1"] >= 0.8 and df.loc[("sales", "misrepresentation"), "precision"] >= 0.85
    assert df.loc[("election", "disinformation"), "f1"] >= 0.85 and df.loc[("social", "disinformation"), "f1"] >= 0.8
    assert df.loc[("election", "populism"), "f1"] >= 0.8


def test_validation_reports_both_gold_sets(scenarios):
    from agora.probes.gold import REAL_GOLD
    from agora.probes.validate import run_validation

    table, predictions = run_validation(scenarios)
    assert set(table["gold"]) == {"hand-written", "real-output"} and table.columns[0] == "gold"
    assert set(predictions["gold"]) == {"hand-written", "real-output"}
    real = table[(table["gold"] == "real-output") & (table["probe"] == "populism")]
    assert len(real) == 1 and real["n"].iat[0] == len([r for r in load_gold(REAL_GOLD, split="test") if r.task == "election"])


def test_a_validation_cut_short_by_a_full_disk_leaves_no_half_written_table(tmp_path, monkeypatch):
    """The second table meets a full disk after writing part of itself: nothing half-written stays, the first table
    is whole, and the entry is not marked finished."""
    import errno

    import pandas as pd

    from agora.probes.validate import ValidationRecord, save_validation
    from agora.sim.store import RunStore

    write, calls = pd.DataFrame.to_parquet, []

    def fills_up(df, path, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            open(path, "wb").write(b"PAR1 half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(df, path, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", fills_up)
    store = RunStore(tmp_path / "runs")
    table = pd.DataFrame({"gold": ["hand"], "probe": ["fact"], "task": ["sales"], "category": ["misrepresentation"],
                          "f1": [0.5]})
    with pytest.raises(OSError, match="predictions.parquet"):
        save_validation(store, table, pd.DataFrame({"id": [1]}), ValidationRecord())
    [entry] = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert sorted(p.name for p in entry.iterdir() if p.suffix != ".yaml") == ["validation.parquet"]
    assert pd.read_parquet(entry / "validation.parquet")["f1"].tolist() == [0.5]
    assert store.row(entry.name)["status"] != "finished"


def test_a_classifier_cache_cut_short_leaves_no_file_another_process_would_load(tmp_path, monkeypatch):
    """A parallel worker loads the cache as soon as it exists: a dump stopped half-way must leave none."""
    import joblib

    from agora.probes.classifier import TrainedClassifier

    def stopped(blob, path):
        open(path, "wb").write(b"\x80\x04 half a pickle")
        raise KeyboardInterrupt

    monkeypatch.setattr(joblib, "dump", stopped)
    with pytest.raises(KeyboardInterrupt):
        TrainedClassifier({}, "abc", {}).save(tmp_path / "classifier.joblib")
    assert list(tmp_path.iterdir()) == []  # neither the cache nor its half-written part
