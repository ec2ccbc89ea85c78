"""A message's words, read once: offsets, lower-case forms, clauses, negation and number words.

Every claim check walks the same words; tokenising once per message and looking terms up as word n-grams in
dicts is what keeps the fact probe at thousands of messages a second on real, long model output, where a
regex alternation of a few hundred terms per check is not.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import cached_property, lru_cache


_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
# the lookbehind after the first digit, not before it, lets the scan skip to digits rather than test every position
_DIGITS = re.compile(r"\d(?<![\w.]\d)(?:[\d,]*\d)?(?:\.\d+)?")
_NEGATORS = {"not", "no", "never", "cannot", "without", "none", "nor", "lacks", "lack", "lacking"}
# words that end a negation's scope ("no HDMI input | and connects only by optical cable")
SCOPE_END = {"and", "but", "so", "while", "when", "if", "because", "without", "only", "than", "that", "which", "unless"}
_SMALL = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                     "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_SCALES = {"dozen": 12, "hundred": 100, "thousand": 1000, "million": 1e6, "billion": 1e9}
NUMERALS = frozenset({*_SMALL, *_TENS, *_SCALES})


@lru_cache(maxsize=1024)
def _numeral_run(present: frozenset[str]) -> re.Pattern:
    """A run of the numerals a message holds ("two hundred and fifty", "twenty-five"), with "a"/"an" only before
    a scale ("a million"). Built from the few numerals present, so the scan tries two or three words, not forty."""
    numeral = "(?:" + "|".join(sorted(present, key=len, reverse=True)) + ")"
    scales = sorted(present & {"dozen", "hundred", "thousand", "million", "billion"})
    article = rf"(?:an?[\s-]+(?=(?:{'|'.join(scales)})\b))?" if scales else ""
    return re.compile(rf"\b{article}{numeral}(?:(?:[\s-]+and)?[\s-]+{numeral})*\b", re.I)


def is_negator(word: str) -> bool:
    word = word.lower().replace("’", "'")
    return word in _NEGATORS or word.endswith("n't")


@lru_cache(maxsize=4096)
def normalise(text: str) -> str:
    """Lower case, hyphens as spaces: "USB-C" and "usb c", "anti-glare" and "anti glare" are one spelling."""
    return re.sub(r"[\s-]+", " ", text.lower()).strip()


@dataclass(frozen=True)
class Lexicon:
    """Terms to find as word runs: each normalised term with its value, indexed by first word."""

    table: dict[str, object]
    prefixes: tuple[tuple[str, object], ...] = ()  # ("award", v) finds "awards", "award-winning"

    @cached_property
    def runs(self) -> frozenset[str]:  # every run of words a term starts with: a match grows only while it is one
        return frozenset(" ".join(words[:k]) for words in map(str.split, self.table) for k in range(1, len(words) + 1))

    @cached_property
    def firsts(self) -> frozenset[str]:
        return frozenset(term.split(" ", 1)[0] for term in self.table)

    @cached_property
    def heads(self) -> frozenset[str]:  # the first three letters of every prefix: a cheap test before startswith
        return frozenset(p[:3] for p, _ in self.prefixes)


@dataclass(frozen=True)
class Text:
    """The words are read with one C-level scan; clauses, which only negation needs, and offsets, which only the
    checks that flag something need, are worked out on first use."""

    text: str
    written: tuple[str, ...]  # each word as written
    lows: tuple[str, ...]  # each word, lower case

    @cached_property
    def clause(self) -> tuple[int, ...]:
        """Per word, the clause it is in (only negation needs it): the words are split again with each clause break
        as a word of its own, "|", that counts clauses."""
        marked = _ascii(self.text.replace("?", ".")).translate(_CLAUSES).decode().replace("|", " | ").split()
        out, n = [], 0
        for run in marked:
            if run == "|":
                n += 1
            else:
                out.extend((n,) * len(_TOKEN.findall(run)) if "'" in run else (n,))
        return tuple(out)

    @cached_property
    def offsets(self) -> tuple[tuple[int, int], ...]:
        """Per word, its (start, end) in the text. Between two words lies nothing a word is made of, so each word is
        the next occurrence of its spelling."""
        text, at, out = self.text.replace("’", "'"), 0, []
        for w in self.written:
            at = text.find(w, at)
            out.append((at, at + len(w)))
            at += len(w)
        return tuple(out)


    @cached_property
    def digits(self) -> tuple[tuple[int, int, float], ...]:
        """Numbers written in digits, not inside a word or after a decimal point: "1,200" 1200, "2.5", "87" of
        "87%", as (start, end, value). One scan that both the number and the attribute checks read; what follows a
        figure (its unit, a "%" or "k") is theirs to match at `end`. A text that stops mid-sentence (a generation
        cut at its token limit) may end inside a figure ("covers 4" of "covers 40 percent"): that one is left out
        (a number in words, "a million", is a claim however it would have gone on)."""
        kept = self.text.rstrip()
        cut = len(kept) if kept and kept[-1].isalnum() else len(self.text) + 1
        return tuple((m.start(), m.end(), float(m.group().replace(",", ""))) for m in _DIGITS.finditer(self.text)
                     if m.end() < cut)

    @cached_property
    def names(self) -> tuple[int, ...]:  # words capitalised like a name ("Vortex"; not "LED", "SHOUTING", "I")
        return tuple(i for i, w in enumerate(self.written) if w[0].isupper() and len(w) >= 3 and w[1:].isalpha() and not w.isupper())

    @cached_property
    def words(self) -> frozenset[str]:
        return frozenset(self.lows)

    @cached_property
    def ordered(self) -> list[str]:  # the distinct words in order: a word start is then found by bisection
        return sorted(self.words)

    def starts(self, prefix: str) -> bool:
        """Some word starts with `prefix` (cheap prefilters test a few word starts)."""
        ordered = self.ordered
        i = bisect_left(ordered, prefix)
        return i < len(ordered) and ordered[i].startswith(prefix)

    @cached_property
    def negators(self) -> frozenset[int]:
        """Where the negators are. Most messages have none: a set test, and no "n't" without an apostrophe."""
        if self.words.isdisjoint(_NEGATORS) and "'" not in self.text and "’" not in self.text:
            return frozenset()
        return frozenset(i for i, w in enumerate(self.lows) if w in _NEGATORS or w.endswith("n't"))

    def negated(self, i: int, reach: int = 5) -> bool:
        """A negator shortly before word i, in its clause: 'no Bluetooth', 'without a wallet'. Clauses, which cost
        a second pass over the text, are worked out only once a negator is in reach."""
        negators, lows = self.negators, self.lows
        if not negators:
            return False
        for j in range(i - 1, max(-1, i - 1 - reach), -1):
            if j in negators:
                return self.clause[j] == self.clause[i]  # clause numbers only grow: no break between j and i
            if lows[j] in SCOPE_END:
                return False
        return False

    def find(self, lexicon: Lexicon) -> list[tuple[int, int, object]]:
        """(first token, end token, value) for each longest run of words the lexicon holds, left to right."""
        lows, runs, table, heads, out = self.lows, lexicon.runs, lexicon.table, lexicon.heads, []
        present = self.words & lexicon.firsts  # most messages hold no term at all: set tests on distinct words
        if heads and any(self.starts(head) for head in heads):
            present |= {w for w in self.words if w[:3] in heads}
        if not present:
            return out
        for i in [i for i, w in enumerate(lows) if w in present]:
            if out and i < out[-1][1]:
                continue  # inside the run found before
            run, k, found = lows[i], i + 1, None
            while True:  # grow the run while some term starts with it, keeping the longest that is a term
                value = table.get(run)
                if value is not None:
                    found = (i, k, value)
                if k == len(lows) or (run := f"{run} {lows[k]}") not in runs:
                    break
                k += 1
            if found is None and lows[i][:3] in heads:
                found = next(((i, i + 1, v) for p, v in lexicon.prefixes if lows[i].startswith(p)), None)
            if found is not None:
                out.append(found)
        return out

    def span(self, i: int, j: int) -> tuple[int, int]:
        return self.offsets[i][0], self.offsets[j - 1][1]

    @cached_property
    def numerals(self) -> list[tuple[int, int, float]]:
        """Numbers written in words, as (start, end, value): "three" 3, "twenty-five" 25, "a million" 1e6,
        "a dozen" 12, "two hundred and fifty" 250. A lone "a" or "an" is an article, not a number."""
        present = self.words & NUMERALS
        if not present:  # most messages hold none: one set test
            return []
        out = []
        for m in _numeral_run(present).finditer(self.text):
            total = current = 0.0
            for w in m.group().lower().replace("-", " ").split():
                if w in ("a", "an"):
                    current = 1.0
                elif w in _SMALL or w in _TENS:
                    current += _SMALL.get(w, 0) + _TENS.get(w, 0)
                elif w in ("dozen", "hundred"):
                    current = (current or 1) * _SCALES[w]
                elif w in _SCALES:
                    total, current = total + (current or 1) * _SCALES[w], 0.0
            out.append((m.start(), m.end(), total + current))
        return out


# every byte that cannot be in a word, as a space: with it, words are split by C-level bytes methods rather than a
# regex (the probe's largest single cost on long model output); `_CLAUSES` keeps each clause break, as "|"
_SPACES = bytes(b if chr(b).isascii() and (chr(b).isalnum() or b == ord("'")) else 32 for b in range(256))
# (a "?" there stands for a letter outside ASCII: a real one is read as ".")
_CLAUSES = bytes(ord("|") if chr(b) in ".!;:\n()," else c for b, c in enumerate(_SPACES))


# a scope's words as the limitation check reads them: joined by hyphens and apostrophes, a comma ending a scope ("|")
_JOINED = bytes(ord("|") if b == ord(",") else (b if b == ord("-") else c) for b, c in enumerate(_SPACES))
_JOINED_WORD = re.compile(r"[A-Za-z0-9]+(?:['-][A-Za-z0-9]+)*")


def scopes(clause: str) -> list[list[str]]:
    """The words of each comma-separated scope of `clause`, a hyphen or an apostrophe inside a word keeping it whole
    ("Bluetooth-enabled", "don't"; a curly apostrophe read as a straight one). Split by bytes methods; only a run
    with a hyphen or an apostrophe in it goes through the regex, which trims them at its ends."""
    out = []
    for scope in _ascii(clause).translate(_JOINED).decode().split("|"):
        runs = scope.split()
        if "'" in scope or "-" in scope:
            runs = [w for run in runs for w in (_JOINED_WORD.findall(run) if "'" in run or "-" in run else (run,))]
        out.append(runs)
    return out


def _ascii(text: str) -> bytes:
    """One byte per character: a letter outside ASCII becomes '?', which breaks a word as `_TOKEN` does."""
    return text.replace("’", "'").encode("ascii", "replace")


@lru_cache(maxsize=256)  # the checks of one message share its reading; more kept alive only slows the collector
def read(text: str) -> Text:
    """The words of `_TOKEN`, found by splitting; only a run holding an apostrophe (quotes, "don't") is split
    again by the regex."""
    runs = _ascii(text).translate(_SPACES).decode().split()
    if "'" in text or "’" in text:
        runs = [w for run in runs for w in (_TOKEN.findall(run) if "'" in run else (run,))]
    return Text(text, tuple(runs), tuple(" ".join(runs).lower().split(" ")) if runs else ())
