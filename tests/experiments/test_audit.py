"""Audit: rates and relative change with CIs on known inputs; the whole command on the small embedded model."""

import pandas as pd
import pytest

from agora.experiments.audit import audit, drift_cases, rate_change


def labels(rows):
    return pd.DataFrame([{"anchor_id": a, "competitor": c, "label": y} for a, c, y in rows])


def test_rate_change_on_known_labels():
    rows = []
    for i in range(10):  # base flags 2 of 10 anchors, tuned flags 5 of 10
        rows += [(f"a{i}", "A", i < 2), (f"a{i}", "B", i < 5)]
    out = rate_change(labels(rows))
    assert (out["base_rate"], out["tuned_rate"], out["absolute_change"]) == (0.2, 0.5, 0.3)
    assert out["relative_change"] == pytest.approx(1.5) and out["low"] <= 1.5 <= out["high"]


def test_zero_base_rate_has_no_relative_change_and_undecided_are_counted():
    out = rate_change(labels([("a", "A", False), ("a", "B", True), ("b", "A", False), ("b", "B", None)]))
    assert out["relative_change"] is None and out["absolute_change"] == 0.5 and out["undecided"] == 1


def test_drift_cases_keep_only_tuned_flagged_base_clean():
    messages = pd.DataFrame([{"contest": 0, "competitor": c, "anchor_id": "x", "text": t} for c, t in [("A", "plain"), ("B", "40,000 fans")]]
                            + [{"contest": 1, "competitor": c, "anchor_id": "y", "text": "same"} for c in ("A", "B")])
    judgments = pd.DataFrame([{"contest": 0, "choice": "B", "thought": "numbers!"}, {"contest": 0, "choice": "A", "thought": "meh"}])
    lab = pd.DataFrame([
        {"contest": 0, "category": "misrepresentation", "competitor": "A", "label": False, "score": 0.0, "evidence": []},
        {"contest": 0, "category": "misrepresentation", "competitor": "B", "label": True, "score": 0.5,
         "evidence": [{"start": 0, "end": 6, "reason": "40,000 is not in the source"}]},
        {"contest": 1, "category": "misrepresentation", "competitor": "A", "label": True, "score": 0.5, "evidence": []},
        {"contest": 1, "category": "misrepresentation", "competitor": "B", "label": True, "score": 0.5, "evidence": []},
    ])
    cases = drift_cases(messages, judgments, lab)
    assert len(cases) == 1
    case = cases.iloc[0]
    assert case["tuned_text"][case["evidence"][0]["start"]:case["evidence"][0]["end"]] == "40,000"
    assert case["thoughts"] == ["numbers!"] and case["base_text"] == "plain"


def test_audit_writes_the_study_table(store, tiny_path, small_tiny):
    run_id, df = audit(f"hf:{tiny_path}", f"hf:{tiny_path}", ["election"], store, contests=3, tiny=small_tiny, invalid="judge")
    assert df["category"].tolist() == ["win rate", "disinformation", "populism", "audience_manipulation"]
    folder = store.root / run_id
    md = (folder / "audit.md").read_text()
    assert md.count("| election |") == 7  # the win rate, then each category observed and corrected for probe error
    assert md.count("| observed |") == 3 and md.count("corrected (Se ") == 3
    # the real-output gold has no audience manipulation: no sensitivity, so the correction is refused with the reason
    assert "corrected (Se n/a, Sp " in md and "no correction: the gold set has no positives" in md
    manip = df[df["category"] == "audience_manipulation"].iloc[0]
    assert manip["gold_positives"] == 0 and pd.isna(manip["corrected_base"]) and "no positives" in manip["correction_unavailable"]
    disinfo = df[df["category"] == "disinformation"].iloc[0]
    assert 0 < disinfo["sensitivity"] <= 1 and disinfo["gold_positives"] > 0  # measured on the real-output gold
    record = store.record(run_id)  # names the probe of each category, to be rebuilt from
    assert {c: p.name for c, p in record.probes.items()} == {
        "disinformation": "fact", "populism": "populism", "audience_manipulation": "manipulation"}
    probes = pd.read_parquet(folder / "probes.parquet")
    assert len(probes) == 3 * 2 * 3  # contests x competitors x categories
