"""What a message is checked against: a structured anchor, or plain anchor text users bring."""

from __future__ import annotations

import re

from agora.probes.text import read
from agora.probes.units import converted
from agora.sim.schema import Anchor, AnchorText

_QUANTITY = re.compile(r"(\d[\d,]*(?:\.\d+)?)[\s-]*([a-z]+)\b", re.I)


def number_words(text: str) -> list[tuple[int, int, float]]:
    """Numbers written in words, as (start, end, value): see `agora.probes.text.Text.numerals`."""
    return read(text).numerals


def source_numbers(source: Anchor | AnchorText) -> set[float]:
    quantities = [(float(v.replace(",", "")), u) for v, u in _QUANTITY.findall(source.text)]
    words = {v for _, _, v in number_words(source.text)}
    return source.numbers() | converted(quantities + source.quantities()) | words


def source_text(source: Anchor | AnchorText) -> str:
    return source.text
