"""What a message is checked against: a structured anchor, or plain anchor text users bring."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agora.probes.text import read
from agora.sim.schema import Anchor, Product, anchor_numbers, numbers_in

# metric and time units by dimension, as multiples of the smallest: "0.1 kg" is also "100 g", "0.9 litres" is
# "900 ml", "60 minutes" is "one hour"
_UNITS = {
    "g": ("mass", 1), "gram": ("mass", 1), "grams": ("mass", 1), "kg": ("mass", 1000), "kilo": ("mass", 1000),
    "kilos": ("mass", 1000), "kilogram": ("mass", 1000), "kilograms": ("mass", 1000),
    "mm": ("length", 1), "millimetre": ("length", 1), "millimetres": ("length", 1), "cm": ("length", 10),
    "centimetre": ("length", 10), "centimetres": ("length", 10), "m": ("length", 1000), "metre": ("length", 1000),
    "metres": ("length", 1000), "ml": ("volume", 1), "millilitres": ("volume", 1), "l": ("volume", 1000),
    "litre": ("volume", 1000), "litres": ("volume", 1000), "cl": ("volume", 10), "centilitre": ("volume", 10),
    "centilitres": ("volume", 10),
    "seconds": ("time", 1), "minute": ("time", 60), "minutes": ("time", 60), "min": ("time", 60), "mins": ("time", 60),
    "hour": ("time", 3600), "hours": ("time", 3600), "day": ("time", 86400), "days": ("time", 86400),
    "week": ("time", 604800), "weeks": ("time", 604800),
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


def number_words(text: str) -> list[tuple[int, int, float]]:
    """Numbers written in words, as (start, end, value): see `agora.probes.text.Text.numerals`."""
    return read(text).numerals


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
