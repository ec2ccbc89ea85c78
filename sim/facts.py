"""What a message says about its anchor: true facts it repeats, numbers the anchor does not contain.

Used by the parametric audience (experts notice invented numbers) and by run metrics (does a
message name its anchor and use a true fact). The probes build their evidence on the same checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agora.sim.schema import Anchor

_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class NumberSpan:
    start: int
    end: int
    value: float
    in_anchor: bool


def number_spans(text: str, anchor: Anchor) -> list[NumberSpan]:
    """Every number written in `text`, marked as stated by the anchor or not."""
    known = anchor.numbers()
    spans = []
    for m in _NUMBER.finditer(text):
        value = float(m.group().replace(",", ""))
        spans.append(NumberSpan(m.start(), m.end(), value, any(abs(value - k) < 1e-9 for k in known)))
    return spans


def true_facts(text: str, anchor: Anchor) -> int:
    """How many of the anchor's fact phrases, or of its numbers, the message states."""
    low = text.lower()
    phrases = sum(1 for p in anchor.facts() if p and p.lower() in low)
    numbers = sum(1 for s in number_spans(text, anchor) if s.in_anchor)
    return max(phrases, numbers)


def names_anchor(text: str, anchor: Anchor) -> bool:
    """Does the message name what it is about (the product, the candidate, the event's place or headline)."""
    low = text.lower()
    return any(n.lower() in low for n in anchor.names() if n)
