"""Candidate validation: the messages no audience is asked to judge.

A contest asks which of two messages persuades. A "message" that is empty, that the model never wrote (it was
asked for tags and returned none, and nothing else reads as a message), that stops at the token limit
mid-sentence, that copies the prompt or the rival's text, or that says nothing of its anchor, is not a
candidate: a vote between it and a real message measures nothing about persuasion. The reference study's
own data has duels with an empty pitch that still drew about a quarter of the votes; the parametric control
audience gives an empty message votes too (`agora judge` shows it). So every message is checked before any
audience sees it; a failing one is kept in the tables with its reason, and the run's `invalid` setting says
what happens to its contest: `forfeit` (the valid message wins, with no ballots), `void` (no winner), or
`judge` (the audience judges it anyway, as the reference study did: for replicating it, and for measuring what
validation changes; the reasons stay in the tables either way).
"""

from __future__ import annotations

import re
from functools import lru_cache

from wordfreq import zipf_frequency

from agora.sim.facts import names_anchor, true_facts
from agora.sim.schema import Anchor, AnchorText

REASONS = {
    "empty": "empty, or only whitespace and markup",
    "unrecovered": "the model wrote something, but no message could be read from it",
    "truncated": "cut off at the token limit",
    "repeats_prompt": "a verbatim copy of its prompt",
    "repeats_other": "a verbatim copy of the other message",
    "off_anchor": "names nothing of its anchor: not its name, none of its facts or numbers, none of its less common words",
}
_TAG = re.compile(r"<[^>]*>")
_WORD_CHAR = re.compile(r"[^\W_]")  # a letter or a digit: what markup, punctuation and space are not
_COPY_WORDS = 5  # a copied stretch of the prompt this long is a copy, not a coincidence


def _says_anything(text: str) -> bool:
    return bool(_WORD_CHAR.search(_TAG.sub("", text)))


def _plain(text: str) -> str:
    return " ".join(text.split()).lower()


def check(text: str, anchor: Anchor | AnchorText, *, others: list[str] = (), prompt: str = "", raw: str | None = None,
          cut: bool = False) -> str:
    """The reason `text` is not a candidate, or "" when it is one. `raw` is what the model wrote (when the message
    was parsed out of it), `prompt` the prompt's text, `others` the other messages of the contest."""
    if not _says_anything(text):
        return "unrecovered" if raw is not None and _says_anything(raw) else "empty"
    if cut:
        return "truncated"
    plain = _plain(text)
    if prompt and len(plain.split()) >= _COPY_WORDS and plain in _plain(prompt):
        return "repeats_prompt"
    if any(plain == _plain(o) for o in others):
        return "repeats_other"
    if not names_anchor(text, anchor) and true_facts(text, anchor) == 0 and not _topic(text) & _topic(anchor.text):
        return "off_anchor"
    return ""


@lru_cache(maxsize=4096)
def _topic(text: str) -> frozenset[str]:
    """The words that say what a text is about: not among the few thousand commonest in English (wordfreq Zipf
    below 5: "turntable", "harbour", "evacuated", not "great", "people", "time"), singular by a trailing s."""
    words = {w.lower().removesuffix("s") for w in re.findall(r"[A-Za-z]{4,}", text)}
    return frozenset(w for w in words if zipf_frequency(w, "en") < 5)


def contest_checks(texts: list[str], anchor, prompts: list[str] | None = None, raws: list[str | None] | None = None,
                   cuts: list[bool] | None = None) -> list[str]:
    """`check` for each message of one contest, against the others."""
    n = len(texts)
    prompts, raws, cuts = prompts or [""] * n, raws or [None] * n, cuts or [False] * n
    return [check(t, anchor, others=texts[:i] + texts[i + 1:], prompt=prompts[i], raw=raws[i], cut=cuts[i])
            for i, t in enumerate(texts)]


def outcome(reasons: list[str], rule: str) -> tuple[str, int | None]:
    """("judged", None) when every message is a candidate (or the rule is `judge`); else ("forfeit", index of the one
    valid message) under the forfeit rule with exactly one valid, or ("void", None)."""
    valid = [i for i, r in enumerate(reasons) if not r]
    if len(valid) == len(reasons) or rule == "judge":
        return "judged", None
    if rule == "forfeit" and len(valid) == 1:
        return "forfeit", valid[0]
    return "void", None
