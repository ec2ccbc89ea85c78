"""A message's words, read once: offsets, lower-case forms, clauses, negation and number words.

Every claim check walks the same words; tokenising once per message and looking terms up as word n-grams in
dicts is what keeps the fact probe at thousands of messages a second on real, long model output, where a
regex alternation of a few hundred terms per check is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import NamedTuple

from agora.probes.limitations import SCOPE_END, is_negator

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_BREAK = re.compile(r"[.!?;:\n(),]")  # ends a clause, and with it a negation's reach
_SMALL = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                     "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_SCALES = {"dozen": 12, "hundred": 100, "thousand": 1000, "million": 1e6, "billion": 1e9}
_NUMBER_WORDS = frozenset({*_SMALL, *_TENS, *_SCALES, "a", "an"})


class Token(NamedTuple):
    start: int
    end: int
    word: str  # as written
    low: str


def normalise(text: str) -> str:
    """Lower case, hyphens as spaces: "USB-C" and "usb c", "anti-glare" and "anti glare" are one spelling."""
    return re.sub(r"[\s-]+", " ", text.lower()).strip()


@dataclass(frozen=True)
class Lexicon:
    """Terms to find as word runs: each normalised term with its value, indexed by first word."""

    table: dict[str, object]
    prefixes: tuple[tuple[str, object], ...] = ()  # ("award", v) finds "awards", "award-winning"

    @classmethod
    def of(cls, table: dict[str, object], prefixes: tuple[tuple[str, object], ...] = ()) -> Lexicon:
        return cls(table, prefixes)

    @cached_property
    def longest(self) -> dict[str, int]:  # first word -> the most words a term starting with it has
        out: dict[str, int] = {}
        for term in self.table:
            first, n = term.split(" ", 1)[0], term.count(" ") + 1
            out[first] = max(out.get(first, 0), n)
        return out

    @cached_property
    def firsts(self) -> frozenset[str]:
        return frozenset(self.longest)

    @cached_property
    def heads(self) -> frozenset[str]:  # the first three letters of every prefix: a cheap test before startswith
        return frozenset(p[:3] for p, _ in self.prefixes)


@dataclass(frozen=True)
class Text:
    text: str
    tokens: tuple[Token, ...]
    clause: tuple[int, ...]  # per token, the clause it is in
    lows: tuple[str, ...]
    names: tuple[bool, ...]  # per token: capitalised like a name ("Vortex"; not "LED", "SHOUTING", "I" or "a")

    @cached_property
    def words(self) -> frozenset[str]:
        return frozenset(self.lows)

    def negated(self, i: int, reach: int = 5) -> bool:
        """A negator shortly before token i, in its clause: 'no Bluetooth', 'without a wallet'."""
        for j in range(i - 1, max(-1, i - 1 - reach), -1):
            if self.clause[j] != self.clause[i]:
                return False
            if is_negator(self.tokens[j].low):
                return True
            if self.tokens[j].low in SCOPE_END:
                return False
        return False

    def find(self, lexicon: Lexicon) -> list[tuple[int, int, object]]:
        """(first token, end token, value) for each longest run of words the lexicon holds, left to right."""
        lows, longest, heads, out, i = self.lows, lexicon.longest, lexicon.heads, [], 0
        if not (self.words & lexicon.firsts) and not heads:  # most messages hold no term at all: one set test
            return out
        for i in [i for i, w in enumerate(lows) if w in longest or (heads and w[:3] in heads)]:
            if out and i < out[-1][1]:
                continue  # inside the run found before
            n = longest.get(lows[i], 0)
            for k in range(min(n, len(lows) - i), 0, -1):
                value = lexicon.table.get(lows[i] if k == 1 else " ".join(lows[i:i + k]))
                if value is not None:
                    out.append((i, i + k, value))
                    break
            else:
                if lows[i][:3] in heads:
                    value = next((v for p, v in lexicon.prefixes if lows[i].startswith(p)), None)
                    if value is not None:
                        out.append((i, i + 1, value))
        return out

    def span(self, i: int, j: int) -> tuple[int, int]:
        return self.tokens[i].start, self.tokens[j - 1].end

    def number_words(self) -> list[tuple[int, int, float]]:
        """Numbers written in words, as (start, end, value): "three" 3, "twenty-five" 25, "a million" 1e6,
        "a dozen" 12, "two hundred and fifty" 250. A lone "a" or "an" is an article, not a number."""
        lows, out = self.lows, []
        if not self.words & _NUMBER_WORDS:
            return out
        starts, done = [i for i, w in enumerate(lows) if w in _NUMBER_WORDS], -1
        for i in starts:
            if i < done:
                continue
            j, total, current = i, 0.0, 0.0
            if lows[j] in ("a", "an") and j + 1 < len(lows) and lows[j + 1] in _SCALES:
                current, j = 1.0, j + 1
            while j < len(lows):
                w = lows[j]
                if w in _SMALL or w in _TENS:
                    current += _SMALL.get(w, 0) + _TENS.get(w, 0)
                elif w in ("dozen", "hundred"):
                    current = (current or 1) * _SCALES[w]
                elif w in _SCALES:
                    total, current = total + (current or 1) * _SCALES[w], 0.0
                elif not (w == "and" and j > i and j + 1 < len(lows) and lows[j + 1] in {*_SMALL, *_TENS}):
                    break
                j += 1
            if j > i and lows[j - 1] not in ("a", "an", "and"):
                out.append((self.tokens[i].start, self.tokens[j - 1].end, total + current))
                done = j
        return out


@lru_cache(maxsize=4096)
def read(text: str) -> Text:
    tokens, clause, n, previous = [], [], 0, 0
    for m in _TOKEN.finditer(text):
        if _BREAK.search(text, previous, m.start()):
            n += 1
        tokens.append(Token(m.start(), m.end(), m.group(), m.group().lower().replace("’", "'")))
        clause.append(n)
        previous = m.end()
    names = tuple(len(w) >= 3 and w[0].isupper() and w[1:].isalpha() and not w.isupper() for _, _, w, _ in tokens)
    return Text(text, tuple(tokens), tuple(clause), tuple(t.low for t in tokens), names)
