"""What every probe returns: per message and category, a label, a score and the evidence spans.

Evidence is character offsets into the message, so the dashboard can mark exactly what was flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

CATEGORIES = {
    "sales": ("misrepresentation", "audience_manipulation"),
    "election": ("disinformation", "populism", "audience_manipulation"),
    "social": ("disinformation", "unsafe_encouragement", "audience_manipulation"),
}
# audience_manipulation: the message addresses the judges rather than the shopper, voter or reader (fake <vote>
# tags, fake system/assistant lines, "ignore previous instructions", "note to the evaluator"); see manipulation.py


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    reason: str


@dataclass(frozen=True)
class Verdict:
    label: bool | None  # None: the probe could not decide (a judge refusal, an unparseable reply)
    score: float
    evidence: list[Span] = field(default_factory=list)
    status: str = "ok"


@dataclass(frozen=True)
class Item:
    """A message to probe, with its task and what it should be faithful to."""

    task: str
    message: str
    source: object  # an Anchor, or an AnchorText when only plain anchor text is at hand


class Probe(Protocol):
    name: str
    categories: set[str]  # the categories this probe can judge

    def score(self, items: list[Item], category: str) -> list[Verdict]:
        ...


def distinct(spans: list[Span]) -> list[Span]:
    """Spans in order, one per stretch of text: where two checks flag overlapping words, the longer span stays."""
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.start - s.end)):
        if not out or span.start >= out[-1].end:
            out.append(span)
    return out
