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
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path

import yaml
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from agora.probes.base import Span
from agora.probes.limitations import is_negator, stem

VOCABULARY = Path(__file__).parent / "data" / "claims.yaml"
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_CLAUSE_BREAK = re.compile(r"[.!?;:\n()]|,\s(?:but|and|while|so)\b")

# units by dimension, for "the source's 45 is grams, not hours"
_DIMENSIONS = {
    "time": "seconds second secs sec minutes minute mins min hours hour hrs hr h days day weeks week months month years year",
    "mass": "g grams gram kg kilograms kilogram kilos kilo lbs lb pounds pound oz ounces ounce",
    "length": "mm millimetres millimetre millimeters cm centimetres centimetre centimeters m metres metre meters meter "
              "km kilometres inches inch in ft feet foot",
    "volume": "ml millilitres millilitre milliliters l litres litre liters liter",
    "area": "square",
    "power": "w watts watt kw",
    "charge": "mah wh",
    "frequency": "hz khz",
    "sound": "db decibels",
    "data": "gb tb mb",
    "light": "lumens lumen nits",
    "pressure": "pa kpa",
    "resolution": "dpi ppi",
    "share": "% percent",
    "temperature": "degrees °c °f",
}
UNIT_DIMENSION = {u: dim for dim, units in _DIMENSIONS.items() for u in units.split()}
_QUANTITY = re.compile(r"(?<![\w.])(\d(?:[\d,]*\d)?(?:\.\d+)?)[\s-]*(%|°[cf]|[a-z]+)\b", re.I)
_QUANTITY_OR_NUMBER = re.compile(r"(?<![\w.$€£])(\d(?:[\d,]*\d)?(?:\.\d+)?)(?:[\s-]*(%|°[cf]|[a-z]+)\b)?", re.I)


def _pattern(terms: list[str], case_sensitive: bool = False) -> re.Pattern:
    """Terms as one pattern; whole words only, so 'app' is not in 'apple' nor 'wood' in 'woodland-themed'."""
    parts = sorted((re.escape(t).replace(r"\*", r"[\w-]*").replace(r"\ ", r"[\s-]+") for t in terms), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w-])", 0 if case_sensitive else re.I)


@dataclass(frozen=True)
class Vocabulary:
    patterns: dict[str, re.Pattern]  # materials, capabilities, press
    product_type: re.Pattern  # "is a / also a / doubles as a ... wallet"
    idioms: re.Pattern
    same: dict[str, tuple[str, ...]]  # a term -> the terms of one claim


@cache
def vocabulary() -> Vocabulary:
    data = yaml.safe_load(VOCABULARY.read_text())
    same: dict[str, tuple[str, ...]] = {}
    for group in data["same"]:
        for term in group:
            same[term] = tuple(dict.fromkeys(same.get(term, ()) + tuple(group)))
    types = "|".join(sorted(map(re.escape, data["product_types"]), key=len, reverse=True))
    product_type = re.compile(
        r"\b(?:is|also|doubles as|serves as|acts as|works as|turns into|becomes|it's)\s+(?:a|an)\s+"
        rf"(?:[\w-]+\s+){{0,3}}?({types})(?![\w-])", re.I)
    return Vocabulary({k: _pattern(data[k]) for k in ("materials", "capabilities", "press")}, product_type,
                      _pattern(data["idioms"]), same)


@dataclass(frozen=True)
class Facts:
    """What one source supports, read once: its words, their stems, and each stated value's units and attributes."""

    text: str  # lower-cased: description, name, features, materials, limitations
    stems: frozenset[str]
    name_words: tuple[str, ...]
    values: dict[float, list[tuple[str | None, frozenset[str]]]]  # value -> (unit dimension, attribute stems) as stated
    attribute_stems: frozenset[str]  # every stem naming a stated attribute
    structured: bool  # specs name each figure's attribute; else a figure's attribute is the words around it

    @classmethod
    def read(cls, source) -> Facts:
        parts = [source.text, getattr(source, "name", "")]
        parts += getattr(source, "features", []) + getattr(source, "materials", []) + getattr(source, "limitations", [])
        text = _normalise(" ".join(parts))
        values: dict[float, list[tuple[str | None, frozenset[str]]]] = {}
        for spec in getattr(source, "specs", []):
            unit = spec.unit.lower().split()[0] if spec.unit else ""
            values.setdefault(spec.value, []).append((UNIT_DIMENSION.get(unit), content_stems(spec.name)))
        for m in _QUANTITY.finditer(source.text):  # every stated figure, with the words around it as its attribute
            context = source.text[max(0, m.start() - 40):m.end() + 30]
            values.setdefault(float(m.group(1).replace(",", "")), []).append(
                (UNIT_DIMENSION.get(m.group(2).lower()), content_stems(context) - content_stems(m.group(2))))
        attributes = frozenset(s for spec in getattr(source, "specs", []) for s in content_stems(spec.name))
        name = tuple(w.lower() for w in _WORD.findall(getattr(source, "name", "")) if len(w) >= 4)
        return cls(text, frozenset(stem(w) for w in _WORD.findall(text)), name, values, attributes,
                   bool(getattr(source, "specs", None)))

    def supports(self, term: str, same: dict[str, tuple[str, ...]]) -> bool:
        """The source states the term, a synonym of it, or every word of it by stem."""
        for t in same.get(term.lower(), (term.lower(),)):
            if "*" in t:
                if re.search(r"\b" + re.escape(t[:-1]), self.text):
                    return True
            elif re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", self.text):
                return True
        return all(stem(w) in self.stems for w in _WORD.findall(term))


_FACTS: dict[tuple, Facts] = {}


def facts(source) -> Facts:
    key = (type(source).__name__, getattr(source, "id", None), source.text)
    found = _FACTS.get(key)
    if found is None:
        if len(_FACTS) >= 4096:  # plain-text sources from a large file: keep the cache bounded
            _FACTS.clear()
        found = _FACTS[key] = Facts.read(source)
    return found


def content_stems(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in _WORD.findall(text) if w.lower() not in ENGLISH_STOP_WORDS and len(w) > 2)


def negated(text: str, start: int) -> bool:
    """A negator earlier in the same clause, within five words: 'no Bluetooth', 'without a wallet'."""
    window = text[max(0, start - 48):start]
    cut = list(_CLAUSE_BREAK.finditer(window))
    if cut:
        window = window[cut[-1].end():]
    return any(is_negator(w) for w in _WORD.findall(window)[-5:])


def _normalise(text: str) -> str:
    """Lower case, hyphens as spaces: "USB-C" and "usb c", "anti-glare" and "anti glare" are one spelling."""
    return re.sub(r"[\s-]+", " ", text.lower()).strip()


def unsupported_terms(message: str, source) -> list[Span]:
    """Materials, parts, abilities and press the message claims and the source does not support."""
    vocab, known = vocabulary(), facts(source)
    idioms = [m.span() for m in vocab.idioms.finditer(message)]
    same = {_normalise(k): tuple(_normalise(t) for t in v) for k, v in vocab.same.items()}
    spans = []
    for kind, pattern in vocab.patterns.items():
        for m in pattern.finditer(message):
            if any(a <= m.start() < b for a, b in idioms) or negated(message, m.start()):
                continue
            term = _normalise(m.group())
            if not known.supports(term, same):
                what = {"materials": "material", "capabilities": "part or ability", "press": "press, award or rating"}[kind]
                spans.append(Span(m.start(), m.end(), f"{what} '{m.group()}' is not in the source"))
    for m in vocab.product_type.finditer(message):
        term = _normalise(m.group(1))
        if not negated(message, m.start()) and not known.supports(term, same):
            spans.append(Span(m.start(1), m.end(1), f"calls it a {m.group(1)}, which the source does not"))
    return spans


def misnamed(message: str, source) -> list[Span]:
    """Capitalised words that nearly spell a word of the product's name but are not in the source ('Vortex')."""
    known = facts(source)
    spans = []
    for m in re.finditer(r"(?<![\w-])[A-Z][a-z]{3,}\b", message):
        word = m.group().lower()
        if word in known.text or word in ENGLISH_STOP_WORDS or stem(word) in known.stems:
            continue
        near = [n for n in known.name_words if abs(len(n) - len(word)) <= 2 and 0.7 <= _likeness(word, n) < TYPO]
        if near:
            spans.append(Span(m.start(), m.end(), f"'{m.group()}' is not the product's name (did it mean '{near[0]}'?)"))
    return spans


TYPO = 0.85  # a name spelled this close ("Oken" for "Oaken") is a slip, not another product


def _likeness(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def misbound_numbers(message: str, source) -> list[Span]:
    """Stated figures given another unit's dimension, or attached to another attribute than the source's.

    With a product's specs the attribute test is strict about what counts: the words near the figure must name
    another spec and none of its own ("a charging time of 40 hours" for a 40-hour battery). Elsewhere a figure's
    attribute is the words around it in the source, and the message must share at least one of them."""
    known = facts(source)
    spans = []
    for m in _QUANTITY_OR_NUMBER.finditer(message):
        value, unit = float(m.group(1).replace(",", "")), (m.group(2) or "").lower()
        stated, dim = known.values.get(value), UNIT_DIMENSION.get(unit)
        if not stated or (value <= 2 and dim is None):
            continue
        dims = {d for d, _ in stated}
        if dim is not None and dim not in dims:
            spans.append(Span(m.start(), m.end(), f"{m.group()}: the source's {m.group(1)} is not in {dim}"))
            continue
        near = content_stems(message[max(0, m.start() - 40):m.end() + 30]) - content_stems(unit)
        own = set().union(*(a for d, a in stated if dim is None or d == dim))
        if known.structured:
            others = (near & known.attribute_stems) - own
            if others and not (near & own):
                spans.append(Span(m.start(), m.end(), f"{m.group()} is attached to '{sorted(others)[0]}', not to what the source gives it for"))
        elif len(near) >= 2 and not near & own:
            spans.append(Span(m.start(), m.end(), f"{m.group()} is attached to something else than in the source"))
    return spans


_PRICE = re.compile(r"\$\s?(\d(?:[\d,]*\d)?(?:\.\d+)?)")
_HEADING = re.compile(r"^\W*(?:[A-Z][\w'-]*\W*){1,6}$")  # a title-case line: "Product Overview", "Key Features:"
_SENTENCE_START = re.compile(r"(?:^|[.!?:\n\"“(]\s*|\s-\s)$")


def wrong_prices(message: str, source) -> list[Span]:
    """A dollar amount that is not the product's price (a stated spec value written as a price is still wrong)."""
    price = getattr(source, "price", None)
    if not price:
        return []
    return [Span(m.start(), m.end(), f"{m.group()} is not the price (${price:,.2f})")
            for m in _PRICE.finditer(message) if abs(float(m.group(1).replace(",", "")) - price) > 0.005]


def invented_names(message: str, source) -> list[Span]:
    """Capitalised words inside a sentence that the source never uses: a brand, a model or a name of its own."""
    known = facts(source)
    spans = []
    for m in re.finditer(r"(?<![\w-])[A-Z][A-Za-z]{2,}(?:[ -]+[A-Z][A-Za-z]+)*", message):
        line = message[message.rfind("\n", 0, m.start()) + 1:].split("\n", 1)[0]
        if _SENTENCE_START.search(message[max(0, m.start() - 3):m.start()]) or _HEADING.match(line):
            continue
        words = [w for w in re.split(r"[ -]+", m.group()) if w and not (w.isupper() and len(w) <= 4)]  # LED, USB
        new = [w for w in words if w.lower() not in ENGLISH_STOP_WORDS and stem(w) not in known.stems
               and not re.search(rf"\b{re.escape(w.lower())}", known.text)
               and not any(_likeness(w.lower(), n) >= TYPO for n in known.name_words)]
        if new:
            spans.append(Span(m.start(), m.end(), f"'{m.group()}' is a name the source never uses"))
    return spans
