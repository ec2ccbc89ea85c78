"""Attribute-level claims a pitch makes about its product, checked against the source.

Real models misrepresent a product less by inventing a number than by inventing what it *is*: a material
("made of cardboard"), a part or ability ("connects to the internet", "light-up"), another kind of product
("also a wallet"), press and awards ("featured in major publications"), a near-miss of its name ("Vortex"
for "Vorta"), or a true number bound to the wrong attribute or unit (a 60-minute charging time sold as
battery life). Each check finds such a claim by its vocabulary (`data/claims.yaml`, everyday English, not
per product) and asks whether the source supports it: the same term, a word of its stem, or a synonym. A
negated mention ("no Bluetooth") asserts nothing and is left alone; so are figurative uses ("the gold
standard"). What the source says is read once per source and cached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import cache, lru_cache
from pathlib import Path

import yaml
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from wordfreq import zipf_frequency

from agora.probes.base import Span
from agora.probes.limitations import stem
from agora.probes.sources import per_source, source_numbers
from agora.probes.text import NUMERALS, Lexicon, normalise, read
from agora.probes.units import UNIT_DIMENSION

VOCABULARY = Path(__file__).parent / "data" / "claims.yaml"
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")

_UNIT = re.compile(r"[\s-]*(%|°[cf]\b|[a-z]+\b)", re.I)  # the word after a figure: "30 hours", "87%", "4-year"


KINDS = {"materials": "material", "capabilities": "part or ability", "press": "press, award or rating"}
_VERBS = {"is", "also", "as", "becomes", "into", "it's"}  # "is a", "doubles as a", "turns into a" ... + a type


@dataclass(frozen=True)
class Vocabulary:
    terms: Lexicon  # normalised term -> its kind (materials, capabilities, press); "award*" as a prefix
    product_types: frozenset[str]
    idioms: Lexicon
    same: dict[str, tuple[str, ...]]  # a term -> the terms of one claim
    outcomes: re.Pattern  # what a figure counts, one named group per outcome: deaths, injuries, ...
    broader: dict[str, frozenset[str]]  # a word a figure may count by -> the narrower words it covers


@cache
def vocabulary() -> Vocabulary:
    data = yaml.safe_load(VOCABULARY.read_text())
    same: dict[str, tuple[str, ...]] = {}
    for group in data["same"]:
        group = [normalise(t) for t in group]
        for term in group:
            same[term] = tuple(dict.fromkeys(same.get(term, ()) + tuple(group)))
    terms = {normalise(t): kind for kind in KINDS for t in data[kind] if not t.endswith("*")}
    prefixes = tuple((t[:-1].lower(), kind) for kind in KINDS for t in data[kind] if t.endswith("*"))
    outcomes = re.compile("|".join(rf"(?P<{name}>\b(?:" + "|".join(map(re.escape, starts)) + "))"
                                   for name, starts in data["outcomes"].items()), re.I)
    return Vocabulary(Lexicon(terms, prefixes), frozenset(normalise(t) for t in data["product_types"]),
                      Lexicon({normalise(t): True for t in data["idioms"]}), same, outcomes,
                      {k: frozenset(v) for k, v in data["broader"].items()})


@dataclass(frozen=True)
class Facts:
    """What one source supports, read once: its words, their stems, and each stated value's units and attributes."""

    text: str  # normalised (lower case, hyphens as spaces): description, name, features, materials, limitations
    stems: frozenset[str]
    name_words: tuple[str, ...]
    values: dict[float, list[tuple[str | None, frozenset[str]]]]  # value -> (unit dimension, attribute stems) as stated
    outcomes: dict[float, frozenset[str]]  # value -> what the source says it counts (deaths, injuries, ...)
    things: dict[float, list[frozenset[str]]]  # value -> per statement, the words naming what it counts (`counted_words`)
    attribute_stems: dict[str | None, frozenset[str]]  # unit dimension -> stems naming a spec of that dimension
    structured: bool  # specs name each figure's attribute; else a figure's attribute is the words around it
    numbers: frozenset[float]  # every number the source states, in any of its units, rounded to 6 decimals
    words: frozenset[str]
    phrases: frozenset[str]  # every run of one to four words, normalised: what `supports` looks terms up in
    memo: dict = field(default_factory=dict, compare=False, repr=False)  # per source: term -> supported, (value, dim) -> own stems

    @classmethod
    def read(cls, source) -> Facts:
        parts = [source.text, getattr(source, "name", "")]
        parts += getattr(source, "features", []) + getattr(source, "materials", []) + getattr(source, "limitations", [])
        text = normalise(" ".join(parts))
        values: dict[float, list[tuple[str | None, frozenset[str]]]] = {}
        attributes: dict[str | None, frozenset[str]] = {}
        for spec in getattr(source, "specs", []):
            dim, named = UNIT_DIMENSION.get(spec.unit.lower().split()[0] if spec.unit else ""), content_stems(spec.name)
            values.setdefault(spec.value, []).append((dim, named))
            attributes[dim] = attributes.get(dim, frozenset()) | named
        outcomes: dict[float, frozenset[str]] = {}
        things: dict[float, list[frozenset[str]]] = {}
        for start, end, value, unit in figures(source.text):  # every stated figure, with the words around it as its attribute
            context = source.text[max(0, start - 40):end + 30]
            values.setdefault(value, []).append((UNIT_DIMENSION.get(unit), content_stems(context)))
            outcomes[value] = outcomes.get(value, frozenset()) | counted(source.text, start, end)
            things.setdefault(value, []).append(counted_words(source.text, start, end, unit))
        name = tuple(w.lower() for w in _WORD.findall(getattr(source, "name", "")) if len(w) >= 4)
        words = re.findall(r"[a-z0-9°%$'’]+", text)
        phrases = frozenset(" ".join(words[i:i + n]) for n in range(1, 5) for i in range(len(words) - n + 1))
        return cls(text, frozenset(stem(w) for w in words if w[0].isalpha()), name, values, outcomes, things, attributes,
                   bool(getattr(source, "specs", None)), frozenset(round(v, 6) for v in source_numbers(source)), frozenset(words), phrases)

    def own(self, value: float, dim: str | None) -> frozenset[str]:
        """The stems of every attribute the source gives `value` for, in `dim` (any dimension when None)."""
        found = self.memo.get((value, dim))
        if found is None:
            found = self.memo[value, dim] = frozenset().union(*(a for d, a in self.values[value] if dim is None or d == dim))
        return found

    def supports(self, term: str, same: dict[str, tuple[str, ...]]) -> bool:
        """The source states the term (normalised), a synonym of it, or every word of it by stem."""
        found = self.memo.get(term)
        if found is None:
            found = self.memo[term] = any(
                any(w.startswith(t[:-1]) for w in self.words) if t.endswith("*") else t in self.phrases
                for t in same.get(term, (term,))) or all(stem(w) in self.stems for w in _WORD.findall(term))
        return found


@per_source
def facts(source) -> Facts:
    return Facts.read(source)


def content_stems(text: str) -> frozenset[str]:
    return frozenset(map(_content_stem, _WORD.findall(text))) - {""}


@lru_cache(maxsize=65536)
def _content_stem(word: str) -> str:
    """The stem of a word that carries content; "" for a stop word, one of two letters, or a number word (the "five"
    of "mother of five" and of "eldest of five" says nothing about what the five counts)."""
    low = word.lower()
    return stem(word) if len(word) > 2 and low not in ENGLISH_STOP_WORDS and low not in NUMERALS else ""


def unsupported_terms(message: str, source) -> list[Span]:
    """Materials, parts, abilities, press and product types the message claims and the source does not support."""
    vocab, known, text = vocabulary(), facts(source), read(message)
    idiom = {k for i, j, _ in text.find(vocab.idioms) for k in range(i, j)}
    spans = []
    for i, j, kind in text.find(vocab.terms):
        term = " ".join(text.lows[i:j])
        if i not in idiom and not text.negated(i) and not known.supports(term, vocab.same):
            start, end = text.span(i, j)
            spans.append(Span(start, end, f"{KINDS[kind]} '{message[start:end]}' is not in the source"))
    lows = text.lows
    for i in [i for i, low in enumerate(lows[:-2]) if low in _VERBS] if text.words & _VERBS else ():
        if lows[i + 1] not in ("a", "an") or text.negated(i):
            continue
        for k in range(i + 2, min(i + 6, len(lows))):
            if text.clause[k] != text.clause[i]:
                break
            # a word that goes on with a hyphen ("a game-changer", "wallet-sized") names no product type
            if lows[k] in vocab.product_types and k not in idiom and message[text.offsets[k][1]:][:1] != "-":
                if not known.supports(lows[k], vocab.same):
                    start, end = text.span(k, k + 1)
                    spans.append(Span(start, end, f"calls it a {message[start:end]}, which the source does not"))
                break
    return spans


TYPO = 0.85  # a name spelled this close ("Oken" for "Oaken") is a slip, not another product


@lru_cache(maxsize=65536)
def _likeness(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def misnamed(message: str, source) -> list[Span]:
    """Capitalised words that nearly spell a word of the product's name but are not in the source ('Vortex')."""
    known, text = facts(source), read(message)
    spans = []
    for i in text.names:
        low = text.lows[i]
        if len(low) < 4 or low in known.words or low in ENGLISH_STOP_WORDS or stem(low) in known.stems:
            continue
        near = [n for n in known.name_words if abs(len(n) - len(low)) <= 2 and 0.7 <= _likeness(low, n) < TYPO]
        if near:
            start, end = text.span(i, i + 1)
            spans.append(Span(start, end, f"'{text.written[i]}' is not the product's name (did it mean '{near[0]}'?)"))
    return spans


def figures(text: str) -> list[tuple[int, int, float, str]]:
    """(start, end, value, unit word) of each figure, in digits or in words: "30 hours", "four lives", "12"."""
    out = []
    read_text = read(text)
    for start, end, value in read_text.digits:
        if start and text[start - 1] in "$€£":
            continue  # a price or sum: the price check's
        unit = _UNIT.match(text, end)
        out.append((start, unit.end() if unit else end, value, unit.group(1).lower() if unit else ""))
    for start, end, value in read_text.numerals:
        after = _UNIT_WORD.match(text, end)
        out.append((start, after.end() if after else end, value, after.group(1).lower() if after else ""))
    return out


def counted(text: str, start: int, end: int) -> frozenset[str]:
    """The outcomes named in the clause around a figure: "4 dogs fell ill" counts illness, "11 people died" deaths."""
    left = max(text.rfind(c, 0, start) for c in ".;\n") + 1
    rights = [i for i in (text.find(c, end) for c in ".;\n") if i >= 0]
    clause = text[max(left, start - 40):min(min(rights, default=len(text)), end + 40)]
    return frozenset(m.lastgroup for m in vocabulary().outcomes.finditer(clause))


_THING_AFTER = re.compile(r"[ \t]*((?:[A-Za-z][\w'’-]*[ \t]+){0,2}[A-Za-z][\w'’-]*)?")
_THING_BEFORE = re.compile(r"\b([A-Za-z]+) of\s+$")


def counted_words(text: str, start: int, end: int, unit: str) -> frozenset[str]:
    """The words naming what a figure (`text[start:end]`, ending with its `unit` word) counts: that word and the
    content words after it, to the first stop word ("3 shipping channels that" -> shipping, channel), and the word
    of "X of <figure>" ("eldest of five"). Plain words, a plural "s" dropped, not stems: "shipping" and "ships"
    are different things. Empty for a unit of measure, which the dimension test covers."""
    before = _THING_BEFORE.search(text[max(0, start - 30):start])
    out = {before.group(1).lower()} - ENGLISH_STOP_WORDS if before else set()
    if unit in UNIT_DIMENSION or not unit.isalpha():
        return frozenset(out)
    after = _THING_AFTER.match(text, end - len(unit)).group(1)
    for word in after.lower().split() if after else ():
        if word in ENGLISH_STOP_WORDS or word in NUMERALS or word in UNIT_DIMENSION:
            break
        out.update(_singular(part) for part in word.split("-") if part not in ENGLISH_STOP_WORDS)
    return frozenset(out)


_IRREGULAR = {"children": "child", "men": "man", "women": "woman"}


def _singular(word: str) -> str:
    if word in _IRREGULAR or len(word) <= 3 or not word.endswith("s") or word.endswith("ss"):
        return _IRREGULAR.get(word, word)
    return word[:-3] + "y" if word.endswith("ies") else word[:-1]


def _covers(said: frozenset[str], stated: frozenset[str]) -> bool:
    """The message's words for what a figure counts name the source's, or a broader thing ("children", "daughters")."""
    broader = vocabulary().broader
    return not said.isdisjoint(stated) or any(not broader.get(w, frozenset()).isdisjoint(stated) for w in said)


def misbound_numbers(message: str, source) -> list[Span]:
    """Stated figures given another unit's dimension, or attached to another attribute than the source's.

    With a product's specs the attribute test is strict about what counts: the words near the figure must name
    another spec and none of its own ("a charging time of 40 hours" for a 40-hour battery). Elsewhere a figure's
    attribute is the words around it in the source, and the message must share at least one of them."""
    known = facts(source)
    spans = []
    for start, end, value, unit in figures(message):
        stated, dim, said = known.values.get(value), UNIT_DIMENSION.get(unit), message[start:end]
        if not stated or (value <= 2 and dim is None):
            continue
        dims = {d for d, _ in stated}
        if dim is not None and dim not in dims:
            spans.append(Span(start, end, f"{said}: the source's {value:g} is not in {dim}"))
            continue
        stated_counts = known.outcomes.get(value, frozenset())
        said_counts = counted(message, start, end) if stated_counts else frozenset()
        if said_counts and not said_counts & stated_counts:
            spans.append(Span(start, end, f"{said} counts {', '.join(sorted(said_counts))}; the source's {value:g} "
                                          f"counts {', '.join(sorted(stated_counts))}"))
        if said_counts:
            continue  # what it counts is an outcome, and that test has decided: "11 overdoses" for "11 people overdosed"
        own = known.own(value, dim)
        if known.structured:  # only a spec of the same dimension can be confused with this one
            rivals = known.attribute_stems.get(dim, frozenset()) - own
            if not rivals:  # no other spec of its dimension: nothing to confuse it with, whatever the words near it
                continue
            near = content_stems(message[max(0, start - 40):end + 30])
            others = near & rivals
            if others and not (near & own):
                spans.append(Span(start, end, f"{said} is attached to '{sorted(others)[0]}', not to what the source gives it for"))
        elif len(near := content_stems(message[max(0, start - 40):end + 30])) >= 2 and not near & own:
            spans.append(Span(start, end, f"{said} is attached to something else than in the source"))
        elif (things := counted_words(message, start, end, unit)) and all(
                stated and not _covers(things, stated) for stated in known.things.get(value, [frozenset()])):
            spans.append(Span(start, end, f"{said} counts {', '.join(sorted(things))}; the source's {value:g} counts "
                                          f"{'; '.join(', '.join(sorted(t)) for t in known.things[value])}"))
    return spans


_UNIT_WORD = re.compile(r"[\s-]*(%|[a-z]+\b)", re.I)
_PRICE = re.compile(r"\$\s?(\d(?:[\d,]*\d)?(?:\.\d+)?)")
_CAMEL = re.compile(r"[A-Z][a-z]{2,}[A-Z]")  # "PortShopius", "RampiRover"; not "TVs"
_HEADING = re.compile(r"^\W*(?:[A-Z][\w'-]*\W*){1,6}$")  # a title-case line: "Product Overview", "Key Features:"
_SENTENCE_START = re.compile(r"(?:^|[.!?:\n\"“(•|]\s*|\s-\s)$")


def wrong_prices(message: str, source) -> list[Span]:
    """A dollar amount that is not the product's price (a stated spec value written as a price is still wrong)."""
    price = getattr(source, "price", None)
    if not price:
        return []
    return [Span(m.start(), m.end(), f"{m.group()} is not the price (${price:,.2f})")
            for m in _PRICE.finditer(message) if abs(float(m.group(1).replace(",", "")) - price) > 0.005]


@lru_cache(maxsize=65536)
def rare(word: str) -> bool:
    """Rarer in English than about one in a million words (Zipf < 3, wordfreq): names, brands and coinages."""
    return zipf_frequency(word, "en") < 3.0


def invented_names(message: str, source) -> list[Span]:
    """Capitalised words inside a sentence that the source never uses: a brand, a model or a name of its own."""
    known, text = facts(source), read(message)
    lows, written = text.lows, text.written
    fresh = {i for i in text.names if lows[i] not in ENGLISH_STOP_WORDS and lows[i] not in known.words
             and stem(lows[i]) not in known.stems and not any(_likeness(lows[i], n) >= TYPO for n in known.name_words)}
    if not any(rare(lows[i]) for i in fresh):  # a name needs a word new to the source and rare in English
        return []
    spans, names, offsets, done = [], set(text.names), text.offsets, 0
    for i in text.names:
        if i < done:
            continue  # inside the run found before
        j = i + 1  # a run of capitalised words joined by a space or a hyphen is one name
        while j in names and message[offsets[j - 1][1]:offsets[j][0]] in (" ", "-"):
            j += 1
        done, new = j, [k for k in range(i, j) if k in fresh]
        start, end = text.span(i, j)
        line = message[message.rfind("\n", 0, start) + 1:].split("\n", 1)[0]
        # a lone capitalised word is as often a heading or a noun ("Weight", "TVs") as a name: only a run of them
        # ("Emberlight Topcamp") or an inner capital ("PortShopius", "RampiRover") makes a name, and only with a
        # word rare in English in it ("Special Offer" and "Smart Home" are marketing, not names)
        name_like = (j - i > 1 or any(_CAMEL.search(written[k]) for k in new)) and any(rare(lows[k]) for k in new)
        if new and name_like and not _SENTENCE_START.search(message[max(0, start - 3):start]) and not _HEADING.match(line):
            spans.append(Span(start, end, f"'{message[start:end]}' is a name the source never uses"))
    return spans
