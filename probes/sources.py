"""What a message is checked against: a structured anchor, or plain anchor text users bring."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agora.sim.schema import Anchor, Product, anchor_numbers, numbers_in

# metric units by dimension, as multiples of the smallest: "0.1 kg" is also "100 g", "0.9 litres" is "900 ml"
_UNITS = {
    "g": ("mass", 1), "gram": ("mass", 1), "grams": ("mass", 1), "kg": ("mass", 1000), "kilo": ("mass", 1000),
    "kilos": ("mass", 1000), "kilogram": ("mass", 1000), "kilograms": ("mass", 1000),
    "mm": ("length", 1), "millimetre": ("length", 1), "millimetres": ("length", 1), "cm": ("length", 10),
    "centimetre": ("length", 10), "centimetres": ("length", 10), "m": ("length", 1000), "metre": ("length", 1000),
    "metres": ("length", 1000), "ml": ("volume", 1), "millilitres": ("volume", 1), "l": ("volume", 1000),
    "litre": ("volume", 1000), "litres": ("volume", 1000),
}
_QUANTITY = re.compile(r"(\d[\d,]*(?:\.\d+)?)[\s-]*([a-z]+)\b", re.I)


@dataclass(frozen=True)
class AnchorText:
    """Plain text of a product description, biography or article (e.g. from `agora probe score`)."""

    text: str


def converted(quantities: list[tuple[float, str]]) -> set[float]:
    """The same quantities in the other units of their dimension, so that a faithful conversion is not a new number."""
    out = set()
    for value, unit in quantities:
        if (dim := _UNITS.get(unit.lower())) is None:
            continue
        base = value * dim[1]
        out |= {round(base / factor, 6) for d, factor in _UNITS.values() if d == dim[0]}
    return out


_SMALL = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                     "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1e6, "billion": 1e9}
_NUMBER_WORDS = re.compile(r"\b(?:(?:a|an|" + "|".join([*_SMALL, *_TENS, "dozen", *_SCALES]) + r")(?:[\s-]+(?:and[\s-]+)?|\b))+",
                           re.I)


def number_words(text: str) -> list[tuple[int, int, float]]:
    """Numbers written in words, as (start, end, value): "three" 3, "twenty-five" 25, "a million" 1e6, "a dozen" 12.
    A lone "a" or "an" is an article, not a number."""
    out = []
    for m in _NUMBER_WORDS.finditer(text):
        words = [w.lower() for w in re.findall(r"[A-Za-z]+", m.group()) if w.lower() != "and"]
        if all(w in ("a", "an") for w in words):
            continue
        total = current = 0.0
        for w in words:
            if w in ("a", "an"):
                current = current or 1
            elif w in _SMALL or w in _TENS:
                current += _SMALL.get(w, 0) + _TENS.get(w, 0)
            elif w == "dozen":
                current = (current or 1) * 12
            elif w == "hundred":
                current = (current or 1) * 100
            else:
                total += (current or 1) * _SCALES[w]
                current = 0
        if words[0] in ("a", "an") and words[-1] not in ("dozen", *_SCALES):
            continue  # "a three-day" is fine, but "a" before a plain word is an article
        end = m.start() + len(re.sub(r"(?:[\s-]+and)?[\s-]*$", "", m.group()))
        out.append((m.start(), end, total + current))
    return out


def source_numbers(source: Anchor | AnchorText) -> set[float]:
    quantities = [(float(v.replace(",", "")), u) for v, u in _QUANTITY.findall(source.text)]
    words = {v for _, _, v in number_words(source.text)}
    if isinstance(source, AnchorText):
        return numbers_in(source.text) | converted(quantities) | words
    if isinstance(source, Product):
        quantities += [(s.value, s.unit) for s in source.specs]
    return anchor_numbers(source) | converted(quantities) | words


def source_text(source: Anchor | AnchorText) -> str:
    return source.text
