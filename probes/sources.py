"""What a message is checked against: a structured anchor, or plain anchor text users bring."""

from __future__ import annotations

import re
from functools import wraps
from typing import Callable, TypeVar

from agora.probes.text import read
from agora.probes.units import converted
from agora.sim.schema import Anchor, AnchorText

T = TypeVar("T")
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


def per_source(read: Callable[[Anchor | AnchorText], T]) -> Callable[[Anchor | AnchorText], T]:
    """`read(source)` worked out once per source and kept: every message of a run is checked against one of a few
    anchors. Plain text is its own key; a structured anchor (unhashable: it holds lists) is keyed by identity, and
    kept with its result so that the id cannot pass to another object. Bounded, for sources from a large file."""
    found: dict[object, tuple[Anchor | AnchorText, T]] = {}

    @wraps(read)
    def cached(source):
        key = source if isinstance(source, AnchorText) else id(source)
        entry = found.get(key)
        if entry is None or (key is not source and entry[0] is not source):
            if len(found) >= 4096:
                found.clear()
            entry = found[key] = (source, read(source))
        return entry[1]
    return cached
