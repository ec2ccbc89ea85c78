"""Candidate validation: what no audience is asked to judge, and what a contest with it becomes."""

import pytest

from agora.sim.backends.base import Completion
from agora.sim.candidates import check, contest_checks, outcome
from agora.sim.policy import ChatPolicy
from agora.sim.schema import AnchorText

TURNTABLE = "halden-groove-belt-drive-turntable"


@pytest.fixture
def turntable(scenarios):
    return next(a for a in scenarios.anchors("sales") if a.id == TURNTABLE)


@pytest.mark.parametrize("text, raw, cut, reason", [
    ("", None, False, "empty"),
    ("  <pitch> </pitch> ** -- ", None, False, "empty"),
    ("", "<think>I should write about the turntable first.</think>", False, "unrecovered"),
    ("The Halden Groove turntable has a built-in phono", None, True, "truncated"),
    ("Buy these amazing shoes, so comfy!", None, False, "off_anchor"),
    ("The Halden Groove turntable has a built-in phono preamp.", None, False, ""),
    ("A belt-drive deck with a hinged dust cover.", None, False, ""),  # no name, but its own words
])
def test_each_reason(turntable, text, raw, cut, reason):
    assert check(text, turntable, raw=raw, cut=cut) == reason


def test_copies_of_the_prompt_or_of_the_rival_are_no_candidates(turntable):
    copied = turntable.description.split(". ")[0]
    assert check(copied, turntable, prompt=f"Write a pitch.\n\n{turntable.description}") == "repeats_prompt"
    assert check("Halden Groove", turntable, prompt=f"Write a pitch for the Halden Groove") == ""  # too short to be a copy
    same = "The Halden Groove turntable, with a built-in phono preamp."
    assert contest_checks([same, " the halden groove turntable,  with a built-in phono preamp."], turntable) == [
        "repeats_other", "repeats_other"]


def test_plain_anchor_text_is_matched_by_its_words():
    bottle = AnchorText("A steel bottle that keeps drinks icy for 24 hours.")
    assert check("Icy drinks all day long.", bottle) == "" and check("Keeps it cold for 24 hours!", bottle) == ""
    assert check("Vote for me on Tuesday.", bottle) == "off_anchor"


@pytest.mark.parametrize("reasons, rule, expected", [
    (["", ""], "forfeit", ("judged", None)),
    (["", "empty"], "forfeit", ("forfeit", 0)),
    (["truncated", ""], "forfeit", ("forfeit", 1)),
    (["empty", "empty"], "forfeit", ("void", None)),
    (["", "empty"], "void", ("void", None)),
    (["", "empty"], "judge", ("judged", None)),
])
def test_what_a_contest_becomes(reasons, rule, expected):
    assert outcome(reasons, rule) == expected


def test_a_message_cut_at_the_token_limit_keeps_its_complete_sentences(scenarios, turntable):
    task, policy = scenarios.task("sales"), ChatPolicy(backend=None)
    closed = policy.parse(task, turntable, Completion("<think>x</think><pitch>The Halden Groove.</pitch> and then", True))
    trimmed = policy.parse(task, turntable, Completion("<pitch>The Halden Groove spins. It has a dust cover and a", True))
    cut = policy.parse(task, turntable, Completion("<think>x</think><pitch>The Halden Groove has a", True))
    assert (closed.truncated, closed.parse_status, closed.text) == (False, "ok", "The Halden Groove.")
    assert (trimmed.truncated, trimmed.parse_status, trimmed.text) == (False, "trimmed", "The Halden Groove spins.")
    assert cut.truncated and check(cut.text, turntable, cut=cut.truncated) == "truncated"
    assert policy.parse(task, turntable, "<pitch>The Halden Groove has a").truncated is False  # a plain str: not known
