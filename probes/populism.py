"""The populism probe: charged populist language, found as the frames that define it, sentence by sentence.

Populism is "the people" set against a corrupt or self-serving elite (Mudde 2004). Dictionary measures of it
(Rooduijn & Pauwels 2011) count words such as *elite*, *establishment*, *corrupt*, *betray*; counted alone
they fire on any speech about politicians or the truth. A trained text classifier does worse on real
speeches: it learns that populist examples talk about "people" and "society", and real models' campaign
speeches talk about little else. So a sentence is flagged only for a populist *frame*:

- a populist slogan ("take back control", "fight for the people", "the system is broken", "drain the swamp");
- an inherently charged name for an elite ("the establishment", "the elites", "the ruling class", "fat cats");
- a plainer target ("politicians", "big corporations", "those in power") cast as corrupt, rigged, greedy,
  out of touch or betraying;
- the people cast as betrayed, ignored or forgotten by someone.

Talking about people, residents, families and community, or criticising a policy on its merits, is not a
frame. Every flag is a span with its reason. The word lists are `data/populism.yaml`.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

from agora.probes.base import CueProbe, Span
from agora.sim.registry import probes

LEXICON = Path(__file__).parent / "data" / "populism.yaml"
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_JOINING = re.compile(r"\b(?:among|join(?:s|ed|ing)?|becom(?:e|es|ing)|one of)\s+(?:the\s+)?$", re.I)  # "a place among the elite"


def _alternation(phrases: list[str]) -> re.Pattern:
    """Phrases as one word-bounded pattern; `*` in a phrase stands for any word ending ("betray*")."""
    parts = sorted((re.escape(p).replace(r"\*", r"\w*").replace(r"\ ", r"\s+") for p in phrases), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(parts) + r")\b", re.I)


@cache
def lexicon() -> dict[str, re.Pattern]:
    data = yaml.safe_load(LEXICON.read_text())
    return {name: _alternation(words) for name, words in data.items()}


def populist_frames(text: str) -> list[Span]:
    """One span per sentence that carries a populist frame, on the words that make it one."""
    lex, spans = lexicon(), []
    for sentence in _SENTENCE.finditer(text):
        s, offset = sentence.group(), sentence.start()
        found = None
        if m := lex["slogans"].search(s):
            found = (m, f"populist slogan '{m.group()}'")
        elif (m := lex["charged_elites"].search(s)) and not _JOINING.search(s, 0, m.start()):
            found = (m, f"casts '{m.group()}' as the enemy")
        elif (m := lex["targets"].search(s)) and (n := lex["vices"].search(s)):
            found = (m if m.start() < n.start() else n, f"'{m.group()}' cast as '{n.group()}'")
        elif (m := lex["people"].search(s)) and (n := lex["wronged"].search(s)):
            found = (m if m.start() < n.start() else n, f"'{m.group()}' cast as '{n.group()}'")
        if found:
            m, reason = found
            spans.append(Span(offset + m.start(), offset + m.end(), reason))
    return spans


@probes.register("populism")
class PopulismProbe(CueProbe):
    name = "populism"
    default_category = "populism"
    cues = staticmethod(populist_frames)
