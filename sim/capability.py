"""The seam through which memory and reasoning modules (memory/) plug into a competitor.

A capability sees the prompt before the competitor writes and the outcome after the contest. Its `state()` is
committed with each contest (sim/store.py) and handed back to `restore` on resume, so a resumed run writes the rows
an uninterrupted one would. `sim/` knows capabilities only by name, through `agora.sim.registry.capabilities`; a run builds each with
`factory(backend=<the competitor's backend>, seed=<the run's seed>)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Protocol

from pydantic import TypeAdapter

from agora.sim.backends.base import Prompt
from agora.sim.schema import Anchor, TaskSpec


@dataclass(frozen=True)
class Outcome:
    """What a competitor learns after a contest: its message, the votes and the audience's thoughts."""

    contest: int
    anchor: Anchor
    message: str
    votes_for: int
    votes_against: int
    won: bool | None  # None for a tie
    thoughts: list[tuple[str, str, bool]] = field(default_factory=list)  # (persona_id, thought, voted for me)

    def as_dict(self) -> dict:
        """JSON-able, for a capability whose state keeps outcomes (ArcMemo's buffer of traces)."""
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "anchor": self.anchor.model_dump(mode="json"),
                "thoughts": [list(t) for t in self.thoughts]}

    @classmethod
    def from_dict(cls, data: dict) -> Outcome:
        return cls(**{**data, "anchor": TypeAdapter(Anchor).validate_python(data["anchor"]),
                      "thoughts": [tuple(t) for t in data["thoughts"]]})


class Capability(Protocol):
    name: str

    def before_write(self, task: TaskSpec, anchor: Anchor, prompt: Prompt) -> Prompt:
        """Return the prompt to use, e.g. with a playbook or retrieved memories added."""
        ...

    def after_outcome(self, task: TaskSpec, outcome: Outcome) -> None:
        """Update memory from the contest's result."""
        ...

    def state(self) -> dict:
        """A JSON-able snapshot saved with each contest and at the end of the run: for the dashboard, and all that
        `restore` needs (counters that seed later calls included)."""
        ...

    def restore(self, state: dict) -> None:
        """Continue from a `state()` snapshot, read back from JSON: a capability built fresh and restored must
        then behave exactly as the one that took the snapshot."""
        ...
