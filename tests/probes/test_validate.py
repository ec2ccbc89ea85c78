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
