"""`agora judge FILE.jsonl`: messages written anywhere, judged by any audience with the study's protocol."""

import json

import pandas as pd
import pytest
from scipy.stats import binomtest
from typer.testing import CliRunner

from agora.sim.audience.judge_file import judge, read_rows, summary
from agora.sim.audience.llm import LLMAudience
from agora.sim.audience.parametric import ParametricAudience
from agora.cli.main import app

TURNTABLE = "halden-groove-belt-drive-turntable"
HONEST = ("The Halden Groove Belt-Drive Turntable has a built-in phono preamp, an adjustable counterweight and a "
          "hinged dust cover, for $249.")


def write(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


@pytest.fixture
def ab_file(tmp_path):
    return write(tmp_path / "ab.jsonl", [
        {"id": "pair", "task": "sales", "anchor_id": TURNTABLE, "a": HONEST, "b": "The best turntable ever, buy now!"},
        {"id": "three", "task": "sales", "anchor_text": "A steel bottle that keeps drinks cold for 24 hours.",
         "messages": ["Cold for 24 hours.", "Drinks stay cold for 48 hours!", ""]},
        "not json",
        {"task": "sales", "anchor_id": "nope", "a": "x", "b": "y"},
        {"task": "sport", "anchor_text": "A thing.", "a": "x", "b": "y"},
        {"task": "sales", "anchor_text": "A thing.", "a": "x"},
        {"task": "sales", "anchor_text": "A thing.", "messages": ["only one"]},
        {"task": "sales", "a": "x", "b": "y"},
    ])


def test_bad_rows_are_named_by_line_and_field_and_the_rest_are_read(ab_file, scenarios):
    rows, problems = read_rows(ab_file, scenarios)
    assert [(r.line, r.id, len(r.messages)) for r in rows] == [(1, "pair", 2), (2, "three", 3)]
    assert rows[1].anchor.text.startswith("A steel bottle") and rows[0].anchor.id == TURNTABLE
    assert problems == [
        f"{ab_file} line 3: not valid JSON (Expecting value)",
        f"{ab_file} line 4: field 'anchor_id': no sales anchor 'nope'",
        f"{ab_file} line 5: field 'task': expected one of sales, election, social, got 'sport'",
        f"{ab_file} line 6: field 'b': expected a message (a string), got NoneType",
        f"{ab_file} line 7: field 'messages': expected a list of two or more messages",
        f"{ab_file} line 8: needs 'anchor_id' or 'anchor_text'",
    ]


def test_every_persona_judges_every_pair_in_a_seeded_order(ab_file, scenarios):
    rows, _ = read_rows(ab_file, scenarios)
    audience = ParametricAudience(scenarios.root / "audience" / "parametric.yaml")
    seen = []
    assert rows[1].invalid == ("", "", "empty")  # no candidate: shown to no one unless asked
    assert set(judge(rows, audience, scenarios, seed=3)["pair"]) == {"0-1"}
    found = judge(rows, audience, scenarios, seed=3, batch=2, progress=lambda done, total: seen.append((done, total)),
                  invalid="judge")
    assert len(found) == 20 * (1 + 3) and seen == [(2, 4), (4, 4)]  # one pair, then three pairs of three messages
    assert set(found["pair"]) == {"0-1", "0-2", "1-2"} and found.groupby(["line", "pair"]).size().eq(20).all()
    assert 0 < (found["shown_a"] < found["shown_b"]).mean() < 1  # both orders are shown
    voted = found[found["vote"].notna()]
    picked = voted.apply(lambda r: r["shown_a"] if r["vote"] == "A" else r["shown_b"], axis=1)
    assert (picked == voted["chosen"]).all()  # the letter maps back to the message shown under it
    again = judge(rows, audience, scenarios, seed=3, batch=8, invalid="judge")
    pd.testing.assert_frame_equal(found, again)  # the seed fixes the orders and votes; the batch size changes neither
    other = judge(rows, audience, scenarios, seed=4, invalid="judge")
    assert not (other["shown_a"].tolist() == found["shown_a"].tolist())


def test_shares_count_votes_only_and_carry_wilson_intervals():
    judgments = pd.DataFrame({"line": [1] * 5, "id": ["x"] * 5, "shown_a": [0, 1, 0, 1, 0], "shown_b": [1, 0, 1, 0, 1],
                              "chosen": pd.array([0, 0, 1, None, 0], dtype="Int64"),
                              "thought": ["", "", "", "", ""]})
    table = summary(judgments).set_index("message")
    assert table.loc[0, "votes"] == 3 and table.loc[0, "abstained"] == 1 and table.loc[0, "share"] == 0.75
    ci = binomtest(3, 4).proportion_ci(0.95, method="wilson")
    assert (table.loc[0, "ci_low"], table.loc[0, "ci_high"]) == (ci.low, ci.high)
    assert table.loc[1, "share"] == 0.25 and table.loc[1, "ballots"] == 5


def test_an_llm_audience_that_always_says_a_shows_its_position_bias(openai_stub, ab_file, scenarios, monkeypatch):
    from agora.sim.backends.openai_compat import OpenAIBackend

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    replies = iter(["<think>first one</think><vote>A</vote>", "hmm"] * 1000)
    with openai_stub.serve(lambda request: (200, openai_stub.completion(next(replies)))) as url:
        audience = LLMAudience(OpenAIBackend("voter", base_url=url, concurrency=1))
        rows, _ = read_rows(ab_file, scenarios)
        found = judge(rows[:1], audience, scenarios)
    assert set(found["parse_status"]) <= {"ok", "retried", "abstain"} and found["chosen"].isna().any()
    voted = found[found["chosen"].notna()]
    assert (voted["chosen"] == voted["shown_a"]).all()  # it votes for the slot, not the message
    shares = summary(found).set_index("message")["share"]
    assert 0 < shares[0] < 1 and shares[0] + shares[1] == pytest.approx(1)


def test_the_command_saves_the_judging_and_reports_skipped_lines(ab_file, tmp_path):
    result = CliRunner().invoke(app, ["judge", str(ab_file), "--store", str(tmp_path / "runs"), "--out", str(tmp_path / "j.parquet")])
    assert result.exit_code == 0, result.output
    assert "line 4: field 'anchor_id'" in result.output and "rule-based control" in result.output
    assert "line 2, message 2: empty" in result.output
    saved = next((tmp_path / "runs").glob("*/judgments.parquet"))
    pd.testing.assert_frame_equal(pd.read_parquet(saved), pd.read_parquet(tmp_path / "j.parquet"))
    summary_file = pd.read_parquet(saved.with_name("summary.parquet"))
    assert len(summary_file) == 4 and summary_file["ballots"].tolist() == [20, 20, 20, 20]  # the empty message: no pair
    messages = pd.read_parquet(saved.with_name("messages.parquet"))
    assert messages["invalid"].tolist() == ["", "", "", "", "empty"]


def test_a_file_with_no_good_row_is_one_line(tmp_path):
    bad = write(tmp_path / "bad.jsonl", ["{", {"task": "sales"}])
    result = CliRunner().invoke(app, ["judge", str(bad), "--store", str(tmp_path / "runs")])
    assert result.exit_code == 2 and f"{bad}: no row to judge (2 bad rows)" in result.output
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(app, ["judge", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2 and "file not found" in missing.output
