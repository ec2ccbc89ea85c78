"""The seam through which memory and reasoning modules (memory/) plug into a competitor.

A capability sees the prompt before the competitor writes and the outcome after the contest.
`sim/` knows capabilities only by name, through `agora.sim.registry.capabilities`; a run builds each with
`factory(backend=<the competitor's backend>, seed=<the run's seed>)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

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


class Capability(Protocol):
    name: str

    def before_write(self, task: TaskSpec, anchor: Anchor, prompt: Prompt) -> Prompt:
        """Return the prompt to use, e.g. with a playbook or retrieved memories added."""
        ...

    def after_outcome(self, task: TaskSpec, outcome: Outcome) -> None:
        """Update memory from the contest's result."""
        ...

    def state(self) -> dict:
        """A JSON-able snapshot saved with the run (for the dashboard and for resume)."""
        ...
