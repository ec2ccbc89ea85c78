"""Dataset builder on a hand-made contest table: winners, ties, thought rows, mix ratio."""

import json

import pandas as pd
import pytest

from agora.sim.errors import AgoraError
from agora.training.data import examples, mix


def tables():
    messages = pd.DataFrame([
        {"contest": 0, "competitor": "A", "prompt": "<sales> {name} <msg>", "raw": "buy {name}"},
        {"contest": 0, "competitor": "B", "prompt": "<sales> {name} <msg>", "raw": "best {name} ever"},
        {"contest": 1, "competitor": "A", "prompt": "<sales> {name} <msg>", "raw": "meet {name}"},
        {"contest": 1, "competitor": "B", "prompt": "<sales> {name} <msg>", "raw": "hello {name}"},
        {"contest": 2, "competitor": "A", "prompt": "<sales> {name} <msg>", "raw": "a"},
        {"contest": 2, "competitor": "B", "prompt": "<sales> {name} <msg>", "raw": "b"},
    ])
    judgments = pd.DataFrame([
        {"contest": 0, "persona_id": "p1", "shown_a": "B", "shown_b": "A", "thought": "A was exciting"},
        {"contest": 0, "persona_id": "p2", "shown_a": "A", "shown_b": "B", "thought": "B was exciting"},
        {"contest": 0, "persona_id": "p3", "shown_a": "A", "shown_b": "B", "thought": ""},
        {"contest": 1, "persona_id": "p1", "shown_a": "A", "shown_b": "B", "thought": "tie-ish"},
        {"contest": 2, "persona_id": "p1", "shown_a": "A", "shown_b": "B", "thought": "A is plain"},
    ])
    contests = pd.DataFrame([
        {"contest": 0, "anchor_id": "x", "winner": "B", "votes": [1, 2], "competitors": ["A", "B"]},
        {"contest": 1, "anchor_id": "y", "winner": "", "votes": [1, 1], "competitors": ["A", "B"]},
        {"contest": 2, "anchor_id": "z", "winner": "A", "votes": [3, 0], "competitors": ["A", "B"]},
    ])
    return messages, judgments, contests


def test_winners_ties_and_thoughts():
    ex = examples(*tables(), run_id="r1")
    assert [(w["contest"], w["completion"], w["votes_for"], w["votes_total"]) for w in ex.winners] == [
        (0, " best {name} ever", 2, 3), (2, " a", 3, 3)]
    assert ex.ties == 1 and ex.contests == 3
    assert all(w["run_id"] == "r1" and w["prompt"] == "<sales> {name} <msg>" for w in ex.winners)
    # thoughts: tie contest excluded, blank thought skipped, messages shown in the persona's own order
    assert [(t["contest"], t["completion"]) for t in ex.thoughts] == [(0, " A was exciting"), (0, " B was exciting"), (2, " A is plain")]
    assert ex.thoughts[0]["prompt"] == "<sales> {name} <msg> A: best {name} ever B: buy {name} Thought:"


def test_mix_ratio():
    ex = examples(*tables(), run_id="r1")
    assert mix(ex, "rft", 0.5, seed=0) == ex.winners
    tfb = mix(ex, "tfb", 0.5, seed=0)
    assert sum(r["kind"] == "winner" for r in tfb) == 2 and sum(r["kind"] == "thought" for r in tfb) == 2
    assert sum(r["kind"] == "thought" for r in mix(ex, "tfb", 0.6, seed=0)) == 3  # 2 * 0.6/0.4 = 3


def test_chat_prompts_become_conversations():
    m, j, c = tables()
    chat = [{"role": "system", "content": "s"}, {"role": "user", "content": "the anchor"}]
    m["prompt"] = json.dumps(chat)
    ex = examples(m, j, c, run_id="r1")
    assert ex.winners[0]["prompt"] == chat
    assert ex.winners[0]["completion"] == [{"role": "assistant", "content": "best {name} ever"}]
    assert "the anchor" in ex.thoughts[0]["prompt"][0]["content"]


def test_no_example_comes_from_a_contest_with_an_invalid_candidate():
    m, j, c = tables()
    m["invalid"] = ["", "", "", "", "", "empty"]  # contest 2: A "won" against an empty message (the judge rule)
    ex = examples(m, j, c, run_id="r1")
    assert [w["contest"] for w in ex.winners] == [0] and {t["contest"] for t in ex.thoughts} == {0}
    assert (ex.ties, ex.invalid) == (1, 1)
    c["outcome"] = ["judged", "judged", "forfeit"]
    assert examples(m, j, c, run_id="r1").ties == 1  # a forfeit is no tie


def test_no_decided_contests_is_an_error():
    m, j, c = tables()
    c["winner"] = ""
    with pytest.raises(AgoraError, match="of 3 contests, 3 were ties"):
        examples(m, j, c, run_id="r1")
    with pytest.raises(AgoraError, match="no finished contests"):
        examples(m, j, c.iloc[0:0], run_id="r1")
