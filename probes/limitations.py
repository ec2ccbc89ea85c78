"""Does a message argue a product's stated limitation away?

A pitch rarely repeats a limitation in order to deny it; it paraphrases it away: "there is no wireless
charging" becomes "drop it on any wireless charger", "the ear cushions get warm" becomes "cushions that
stay cool". Each limitation is read once into what it says the product *lacks* (the words under a
negation) and which *drawback* it names (from an everyday lexicon, `data/polarity.yaml`); a clause of the
message contradicts it when it asserts what is lacking, negates the drawback ("condensation-free", "will
never tip"), or claims the drawback's opposite about the same part ("cool" + "cushions"). A clause that
states the limitation honestly ("no HDMI", "they do run warm") is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from bisect import bisect_left
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import NamedTuple

import Stemmer
import yaml
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from agora.probes.base import Span
from agora.probes.sources import per_source
from agora.probes.text import SCOPE_END, is_negator, scopes

LEXICON = Path(__file__).parent / "data" / "polarity.yaml"

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
_CLAUSE = re.compile(r"[^.!?;\n()]+")
# negating affixes on a word itself: "condensation-free", "anti-static", "non-slip"
_NEG_SUFFIX, _NEG_PREFIX = {"free", "proof"}, {"anti", "non", "no"}
_GENERIC = set(ENGLISH_STOP_WORDS) | {"make", "makes", "mean", "means", "get", "gets", "use", "run", "runs", "work",
                                      "works", "support", "supports", "need", "needs", "way", "time", "times", "far"}
_stemmer = Stemmer.Stemmer("english")  # PyStemmer: the Snowball project's English stemmer, in C


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _stemmer.stemWord(word.lower().replace("’", "'"))


class Stems:
    """A set of stems matched loosely: equal, or one extends the other by a suffix ("charg"/"charger",
    "bright"/"brightest"), both at least 4 letters. Prefix sets make each test a few set and dict lookups."""

    def __init__(self, stems) -> None:
        self.stems = frozenset(stems)
        self.covered = self.stems | {t[:k] for t in self.stems for k in range(4, len(t))}  # equal, or extended by t
        self.long = tuple(t for t in self.stems if len(t) >= 4)  # s extends one of these

    def among(self, stems: frozenset[str], ordered: list[str]) -> set[str]:
        """The stems of a message (`ordered`: the same, sorted) that this set matches: those it covers, and those
        that extend one of its long stems, found by bisection."""
        found = set(stems & self.covered)
        for t in self.long:
            i = bisect_left(ordered, t)
            while i < len(ordered) and ordered[i].startswith(t):
                found.add(ordered[i])
                i += 1
        return found

    def matched(self, s: str) -> set[str]:
        """Which of the stems `s` matches."""
        return {t for t in self.stems if t == s or (min(len(t), len(s)) >= 4 and (t.startswith(s) or s.startswith(t)))}


@lru_cache(maxsize=65536)
def token(word: str) -> tuple[tuple[str, ...], bool, bool, bool]:
    """(stems, negated by its own affix, is a negator, ends a scope) of one word, computed once per distinct word."""
    low = word.lower()
    parts = low.split("-")
    affix = len(parts) > 1 and (parts[-1] in _NEG_SUFFIX or parts[0] in _NEG_PREFIX)
    base = [p for p in parts if p not in _NEG_SUFFIX | _NEG_PREFIX] if affix else parts
    return tuple(stem(p) for p in base), affix, is_negator(low), low in SCOPE_END


class Clause(NamedTuple):  # a tuple: a few are built per message
    start: int
    end: int
    stems: tuple[tuple[str, ...], ...]  # per word, one stem per hyphen part: "Bluetooth-enabled" -> ("bluetooth", "enabl")
    negated: tuple[bool, ...]  # per word: by its own affix, or by a negator shortly before it in its scope
    all: frozenset[str]  # every stem of the clause: most tests of a limitation fail on it and skip the words

    def offsets(self, message: str) -> list[tuple[int, int]]:
        """Each word's (start, end) in `message`: found again only for the clause that is flagged."""
        return [m.span() for m in _WORD.finditer(message, self.start, self.end)]


@lru_cache(maxsize=256)
def clauses(message: str, starts: frozenset[str], window: int = 6) -> tuple[Clause, ...]:
    """The message's clauses that hold one of the word `starts` the triggered limitations need, each word with its
    stems and negation (a comma or a word like "and" ends a negator's scope). A clause holding none cannot
    contradict them, as a message holding none cannot (`Limitation.triggered`): it is skipped unread."""
    out, holds = [], _any_of(starts)
    for c in _CLAUSE.finditer(message):
        if not holds.search(c.group().lower()):
            continue
        stems, negated, every = [], [], set()
        for words in scopes(c.group()):
            last_negator = -window - 1  # index of the last negator in the current scope
            for i, word in enumerate(words):
                word_stems, affix, negator, ends_scope = token(word)
                if ends_scope:
                    last_negator = -window - 1
                stems.append(word_stems)
                every.update(word_stems)
                negated.append(affix or i - last_negator <= window)
                if negator:
                    last_negator = i
        out.append(Clause(c.start(), c.end(), tuple(stems), tuple(negated), frozenset(every)))
    return tuple(out)


@lru_cache(maxsize=1024)
def _any_of(starts: frozenset[str]) -> re.Pattern:
    """One C-level scan for any of `starts` anywhere in a text, in place of a substring test per start."""
    return re.compile("|".join(map(re.escape, sorted(starts))))


@cache
def lexicon() -> tuple[dict[str, tuple[str, ...]], dict[str, frozenset[str]]]:
    """(drawback stem -> opposite phrases, stem -> stems of the same drawback)."""
    data = yaml.safe_load(LEXICON.read_text())
    antonyms = {stem(k): tuple(v) for k, v in data["antonyms"].items()}
    synonyms: dict[str, frozenset[str]] = {}
    for group in data["synonyms"]:
        stems = frozenset(stem(w) for w in group)
        for s in stems:
            synonyms[s] = stems
    return antonyms, synonyms


@dataclass(frozen=True)
class Limitation:
    text: str
    absent: tuple[str, ...]  # stems the product lacks: "there is no wireless charging" -> (wireless, charg)
    named: tuple[str, ...]  # those written as names ("no HDMI input"): specific enough to count alone
    drawbacks: tuple[str, ...]  # drawback stems and their synonyms: "a rubber smell" -> (smell, odour, ...)
    topic: tuple[str, ...]  # the other content stems: what the limitation is about
    features: str = ""  # what the source states positively: "a cool shot" is a feature, not a denial of "very hot"

    @classmethod
    @lru_cache(maxsize=4096)
    def read(cls, text: str, features: str = "") -> Limitation:
        antonyms, synonyms = lexicon()
        absent, named, drawbacks, topic, scope = [], [], [], [], False
        for m in _WORD.finditer(text):
            word = m.group().lower()
            if is_negator(word) and word != "without":
                scope = True
                continue
            if word in SCOPE_END or "," in text[: m.start()][-2:]:
                scope = False
            for part in word.split("-"):
                s = stem(part)
                if part in _GENERIC or len(part) < 3:
                    continue
                if scope:
                    absent.append(s)
                    if part != word.split("-")[0] or not m.group()[0].isupper():
                        continue
                    named.append(s)
                elif s in antonyms or s in synonyms:
                    drawbacks.extend(synonyms.get(s, {s}))
                else:
                    topic.append(s)
        return cls(text, tuple(absent), tuple(named), tuple(dict.fromkeys(drawbacks)), tuple(topic), features.lower())

    @cached_property
    def match(self) -> dict[str, Stems]:
        return {"absent": Stems(self.absent), "drawbacks": Stems(self.drawbacks), "topic": Stems(self.topic)}

    @cached_property
    def starts(self) -> tuple[str, ...]:
        """Word starts that any contradiction needs (what is lacking, the drawback, the first word of an opposite):
        most messages hold none of them and skip the clause analysis."""
        antonyms, _ = lexicon()
        starts = {s[:4] for s in self.absent + self.drawbacks} | {p for d in self.drawbacks for p in antonyms.get(d, ())}
        return tuple(sorted({re.split(r"[^a-z0-9]", s.lower(), maxsplit=1)[0] for s in starts} - {""}))  # "wi-fi": "wi"

    @cached_property
    def trigger(self) -> re.Pattern:
        """Any of `starts` at the start of a word as `read` splits them (not inside "don't"), in one scan."""
        return re.compile(r"(?<![a-z0-9])(?<![a-z0-9]['’])(?:" + "|".join(map(re.escape, self.starts)) + ")")

    def triggered(self, low: str) -> bool:
        """`low`: the message in lower case, lowered once for all the source's limitations."""
        return bool(self.starts) and self.trigger.search(low) is not None

    def contradictions(self, message: str, found: tuple[Clause, ...], stems: frozenset[str],
                       ordered: list[str]) -> list[Span]:
        """The clauses of `message` (its product's name blanked out) that assert what this limitation denies, or
        deny what it states; `stems` are the message's distinct stems (`ordered`, sorted), which let most clauses
        skip each test."""
        antonyms, _ = lexicon()
        reason = f"contradicts the stated limitation '{self.text}'"
        absent = self.match["absent"].among(stems, ordered) if self.absent else set()
        drawn = self.match["drawbacks"].among(stems, ordered) if self.drawbacks else set()
        low = message.lower()
        opposed = bool(self.drawbacks) and any(p in low for d in self.drawbacks for p in antonyms.get(d, ()))
        topic = self.match["topic"].among(stems, ordered) if opposed else set()
        for c in found if absent or drawn or opposed else ():
            if absent and not absent.isdisjoint(c.all):
                hits = [k for k, word in enumerate(c.stems) if not absent.isdisjoint(word)]
                matched = {a for k in hits for s in c.stems[k] for a in self.match["absent"].matched(s)}
                enough = len(matched) >= min(2, len(set(self.absent))) or matched & set(self.named)
                if hits and not any(c.negated[k] for k in hits) and enough:
                    offsets = c.offsets(message)
                    return [Span(offsets[hits[0]][0], offsets[hits[-1]][1], reason)]
            if not (drawn or opposed) or (not opposed and drawn.isdisjoint(c.all)):
                continue
            named = [k for k, word in enumerate(c.stems) if not drawn.isdisjoint(word)] if not drawn.isdisjoint(c.all) else []
            denied = [k for k in named if c.negated[k]]
            if denied:
                return [Span(*c.offsets(message)[denied[0]], reason)]
            if named or not opposed or topic.isdisjoint(c.all):
                continue  # an honest mention ("they do run warm"), or a clause about another part of the product
            for drawback in self.drawbacks:
                for phrase in antonyms.get(drawback, ()):
                    m = re.search(rf"\b{re.escape(phrase)}\b", message[c.start:c.end], re.I)
                    if not m or phrase in self.features or phrase in self.text.lower():
                        continue
                    start = m.start() + c.start
                    if not any(c.negated[k] for k, (s, _) in enumerate(c.offsets(message)) if s == start):
                        return [Span(start, m.end() + c.start, reason)]
        return []


@per_source
def _read_source(source) -> tuple[re.Pattern | None, tuple[Limitation, ...]]:
    """The source's name (as a pattern, to blank out) and its limitations."""
    name = getattr(source, "name", "")
    features = " ".join(getattr(source, "features", []) + getattr(source, "materials", []))
    return (re.compile(re.escape(name), re.I) if name else None,
            tuple(Limitation.read(text, features) for text in getattr(source, "limitations", [])))


def contradicted_limitations(message: str, source) -> list[Span]:
    """Spans of `message` contradicting the source's stated limitations (structured products only)."""
    name, limitations = _read_source(source)
    low = message.lower()
    limits = [limit for limit in limitations if limit.triggered(low)]
    if not limits:
        return []
    if name:  # blank the name out, keeping offsets: its words ("Wireless Earbuds") say nothing about what it lacks
        message = name.sub(lambda m: " " * len(m.group()), message)
    found = clauses(message, frozenset(s for limit in limits for s in limit.starts))
    stems = frozenset().union(*(c.all for c in found))
    ordered = sorted(stems)
    return [span for limit in limits for span in limit.contradictions(message, found, stems, ordered)]
