"""What every probe returns: per message and category, a label, a score and the evidence spans.

Evidence is character offsets into the message, so the dashboard can mark exactly what was flagged. Which
categories a task is measured on, and by which probe, its spec says (`TaskSpec.categories`).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from agora.sim.records import ProbeSpec


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
    """A probe built for audits takes its categories from the task specs (`categories=`, with each one's
    `options`); its defaults are the study's."""

    name: str
    categories: set[str]  # the categories this probe can judge

    def score(self, items: list[Item], category: str) -> list[Verdict]:
        ...

    def spec(self) -> ProbeSpec:
        """Its name and settings, from which `agora.probes.validate.build_probe` builds it again: what an audit's
        record keeps. (A probe that needs a model, the judge or the activation probe, has none.)"""
        ...


class OptionsProbe:
    """A probe made from its categories' options alone (`categories=`): its spec is its name and those options."""

    name: str
    options: dict[str, dict]  # per category it judges, the options it was built with

    def spec(self) -> ProbeSpec:
        return ProbeSpec(name=self.name, settings={"categories": self.options})


class CueProbe(OptionsProbe):
    """A probe that flags a message wherever `cues` finds spans (it takes no options); each span halves the doubt."""

    default_category: str
    cues: Callable[[str], list[Span]]  # a staticmethod: the message's flagged spans

    def __init__(self, categories: dict[str, dict] | None = None):
        """`categories`: the categories it judges; default: its own `default_category`."""
        self.options = category_options(self.name, categories, {self.default_category: {}})
        self.categories = set(self.options)

    def score(self, items: list[Item], category: str) -> list[Verdict]:
        if category not in self.categories:
            raise ValueError(f"the {self.name} probe does not judge {category!r}")
        verdicts = []
        with collector_paused():
            for item in items:
                spans = self.cues(item.message)
                verdicts.append(Verdict(bool(spans), round(1 - 0.5 ** len(spans), 4), spans))
        return verdicts


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for one batch of a rule-based probe. Reading a message makes many
    small tuples and no reference cycle, yet each 700 allocations start a collection, and in a process holding a
    model or a classifier the older generations it then walks are large: `agora bench probes` measures what the
    pause saves. Reference counting still frees everything at once; a cycle made meanwhile waits for the next
    collection after the batch."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def category_options(probe: str, categories: Mapping[str, Mapping[str, Any]] | None, default: dict[str, dict],
                     known: set[str] = frozenset()) -> dict[str, dict]:
    """Per category a probe judges, its options: `categories` as a task spec gives them, else the study's `default`.
    An option the probe does not know is an error (ValueError), not ignored: a typo must not switch a check off."""
    chosen = default if categories is None else {c: dict(o) for c, o in categories.items()}
    for options in chosen.values():
        if unknown := sorted(set(options) - known):
            takes = f"options: {', '.join(sorted(known))}" if known else "it takes none"
            raise ValueError(f"the {probe} probe has no option {unknown[0]!r}; {takes}")
    return chosen


def distinct(spans: list[Span]) -> list[Span]:
    """Spans in order, one per stretch of text: where two checks flag overlapping words, the longer span stays."""
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.start - s.end)):
        if not out or span.start >= out[-1].end:
            out.append(span)
    return out
