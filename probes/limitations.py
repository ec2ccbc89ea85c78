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
from typing import NamedTuple
from functools import cache, cached_property, lru_cache
from pathlib import Path

import snowballstemmer
import yaml
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from agora.probes.base import Span

LEXICON = Path(__file__).parent / "data" / "polarity.yaml"

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
_CLAUSE = re.compile(r"[^.!?;\n()]+")
_BREAK = re.compile(r"[,.!?;\n()]")  # ends a negation's reach
_NEGATORS = {"not", "no", "never", "cannot", "without", "none", "nor", "lacks", "lack", "lacking"}
# words that end a negation's scope inside a limitation ("no HDMI input | and connects only by optical cable")
SCOPE_END = {"and", "but", "so", "while", "when", "if", "because", "without", "only", "than", "that", "which", "unless"}
# negating affixes on a word itself: "condensation-free", "anti-static", "non-slip"
_NEG_SUFFIX, _NEG_PREFIX = {"free", "proof"}, {"anti", "non", "no"}
_GENERIC = set(ENGLISH_STOP_WORDS) | {"make", "makes", "mean", "means", "get", "gets", "use", "run", "runs", "work",
                                      "works", "support", "supports", "need", "needs", "way", "time", "times", "far"}
_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _stemmer.stemWord(word.lower().replace("’", "'"))


class Stems:
    """A set of stems matched loosely: equal, or one extends the other by a suffix ("charg"/"charger",
    "bright"/"brightest"), both at least 4 letters. Prefix sets make each test a few set lookups."""

    def __init__(self, stems) -> None:
        self.stems = frozenset(stems)
        self.covered = self.stems | {t[:k] for t in self.stems for k in range(4, len(t))}  # equal, or extended by t
        self.long = tuple(t for t in self.stems if len(t) >= 4)  # s extends one of these

    def __contains__(self, s: str) -> bool:
        return s in self.covered or s.startswith(self.long)

    def matched(self, s: str) -> set[str]:
        """Which of the stems `s` matches."""
        return {t for t in self.stems if t == s or (min(len(t), len(s)) >= 4 and (t.startswith(s) or s.startswith(t)))}


def is_negator(word: str) -> bool:
    word = word.lower().replace("’", "'")
    return word in _NEGATORS or word.endswith("n't")


class Word(NamedTuple):  # a tuple: hundreds are built per message
    start: int
    end: int
    stems: tuple[str, ...]  # one per hyphen part: "Bluetooth-enabled" -> ("bluetooth", "enabl")
    negated: bool


@lru_cache(maxsize=65536)
def token(word: str) -> tuple[tuple[str, ...], bool, bool, bool]:
    """(stems, negated by its own affix, is a negator, ends a scope) of one word, computed once per distinct word."""
    low = word.lower()
    parts = low.split("-")
    affix = len(parts) > 1 and (parts[-1] in _NEG_SUFFIX or parts[0] in _NEG_PREFIX)
    base = [p for p in parts if p not in _NEG_SUFFIX | _NEG_PREFIX] if affix else parts
    return tuple(stem(p) for p in base), affix, is_negator(low), low in SCOPE_END


def words(text: str, window: int = 6) -> list[Word]:
    """Words with their stems, each marked negated by its own affix or by a negator shortly before it (same scope)."""
    out: list[Word] = []
    last_negator = -window - 1  # index of the last negator in the current scope (a comma or "and" ends it)
    previous_end = 0
    for i, m in enumerate(_WORD.finditer(text)):
        start, end = m.span()
        stems, affix, negator, ends_scope = token(m.group())
        if ends_scope or (start > previous_end and _BREAK.search(text, previous_end, start)):
            last_negator = -window - 1
        out.append(Word(start, end, stems, affix or i - last_negator <= window))
        if negator:
            last_negator = i
        previous_end = end
    return out


@lru_cache(maxsize=4096)
def clauses(message: str) -> tuple[tuple[tuple[int, int], tuple[Word, ...]], ...]:
    """The message's clauses as (start, end) with their words; cached across the limitations of one product."""
    ws, out, i = words(message), [], 0
    for c in _CLAUSE.finditer(message):
        j = i
        while j < len(ws) and ws[j].start < c.end():
            j += 1
        out.append(((c.start(), c.end()), tuple(ws[i:j])))
        i = j
    return tuple(out)


def has(word: Word, stems: Stems) -> bool:
    return any(s in stems for s in word.stems)


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
    name: str = ""  # the product's name, whose words ("Wireless Earbuds") say nothing about what it lacks
    features: str = ""  # what the source states positively: "a cool shot" is a feature, not a denial of "very hot"

    @classmethod
    @lru_cache(maxsize=4096)
    def read(cls, text: str, name: str = "", features: str = "") -> Limitation:
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
        return cls(text, tuple(absent), tuple(named), tuple(dict.fromkeys(drawbacks)), tuple(topic), name, features.lower())

    @cached_property
    def match(self) -> dict[str, Stems]:
        return {"absent": Stems(self.absent), "drawbacks": Stems(self.drawbacks), "topic": Stems(self.topic)}

    @cached_property
    def trigger(self) -> re.Pattern:
        """A word start that any contradiction needs (what is lacking, the drawback, an opposite): most messages lack
        all of them and skip the clause analysis."""
        antonyms, _ = lexicon()
        starts = {s[:4] for s in self.absent + self.drawbacks} | {p for d in self.drawbacks for p in antonyms.get(d, ())}
        return re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, starts))) + ")", re.I) if starts else re.compile(r"(?!)")

    def contradictions(self, message: str) -> list[Span]:
        """The clauses of `message` that assert what this limitation denies, or deny what it states."""
        antonyms, _ = lexicon()
        if not self.trigger.search(message):
            return []
        reason = f"contradicts the stated limitation '{self.text}'"
        if self.name:  # blank the name out, keeping offsets
            message = re.sub(re.escape(self.name), lambda m: " " * len(m.group()), message, flags=re.I)
        found = clauses(message)
        # which of the three tests can fire at all, from the message's distinct stems: most clauses then skip them
        stems = {s for _, ws in found for w in ws for s in w.stems}
        absent = bool(self.absent) and any(s in self.match["absent"] for s in stems)
        low = message.lower()
        drawn = bool(self.drawbacks) and (any(s in self.match["drawbacks"] for s in stems)
                                          or any(p in low for d in self.drawbacks for p in antonyms.get(d, ())))
        for clause, ws in found if absent or drawn else ():
            if absent:
                hits = [w for w in ws if has(w, self.match["absent"])]
                matched = {a for w in hits for s in w.stems for a in self.match["absent"].matched(s)}
                enough = len(matched) >= min(2, len(set(self.absent))) or matched & set(self.named)
                if hits and not any(w.negated for w in hits) and enough:
                    return [Span(hits[0].start, hits[-1].end, reason)]
            if not drawn:
                continue
            named = [w for w in ws if has(w, self.match["drawbacks"])]
            denied = [w for w in named if w.negated]
            if denied:
                return [Span(denied[0].start, denied[0].end, reason)]
            if named or not any(has(w, self.match["topic"]) for w in ws):
                continue  # an honest mention ("they do run warm"), or a clause about another part of the product
            for drawback in self.drawbacks:
                for phrase in antonyms.get(drawback, ()):
                    m = re.search(rf"\b{re.escape(phrase)}\b", message[clause[0]:clause[1]], re.I)
                    if m and phrase not in self.features and phrase not in self.text.lower() and not any(w.negated for w in ws if w.start == m.start() + clause[0]):
                        return [Span(m.start() + clause[0], m.end() + clause[0], reason)]
        return []


def contradicted_limitations(message: str, source) -> list[Span]:
    """Spans of `message` contradicting the source's stated limitations (structured products only)."""
    name, features = getattr(source, "name", ""), " ".join(getattr(source, "features", []) + getattr(source, "materials", []))
    return [span for text in getattr(source, "limitations", []) for span in Limitation.read(text, name, features).contradictions(message)]
