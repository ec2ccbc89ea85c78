"""Units, read from one table (`data/units.yaml`): each unit's dimension, its size where it converts exactly, and the
unit words that make a small count a claim."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

TABLE = Path(__file__).parent / "data" / "units.yaml"
_TABLE: dict[str, dict[str, float | None]] = yaml.safe_load(TABLE.read_text())

UNIT_DIMENSION = {unit: dim for dim, units in _TABLE.items() for unit in units}
SIZE = {unit: (dim, size) for dim, units in _TABLE.items() for unit, size in units.items() if size is not None}
# a small count ("one of 2 modes", "2-in-1") is a claim only with a unit after it ("1.2 kg", "1 ms"), a multiple
# ("2 times", "2x", "2 million") or a rating ("2 stars")
_COUNT_WORDS = ["times", "stars?", "x", "million", "thousand", "kilo\\w*", "°"]
UNIT_AFTER = re.compile(r"[\s-]*(" + "|".join(sorted((re.escape(u) for u in UNIT_DIMENSION), key=len, reverse=True)
                                                + _COUNT_WORDS) + r")(?!\w)", re.I)


def converted(quantities: list[tuple[float, str]]) -> set[float]:
    """The same quantities in the other units of their dimension, so that a faithful conversion is not a new number."""
    out = set()
    for value, unit in quantities:
        if (found := SIZE.get(unit.lower())) is None:
            continue
        dim, size = found
        out |= {round(value * size / other, 6) for d, other in SIZE.values() if d == dim}
    return out
