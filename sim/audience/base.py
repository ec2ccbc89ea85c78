"""The audience interface: each persona reads messages A and B and returns a thought and a choice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agora.sim.schema import Anchor, Persona, TaskSpec


@dataclass(frozen=True)
class Ballot:
    """What one persona is shown: the two messages in the order it sees them."""

    persona: Persona
    a: str
    b: str


@dataclass(frozen=True)
class Judgment:
    vote: str | None  # "A", "B", or None for an abstention
    thought: str
    parse_status: str  # ok | retried | abstain (llm); ok (parametric); logprob; order_disagreement (orders: both)
    raw: str = ""
    p_a: float | None = None  # vote: logprob: P(A) / (P(A) + P(B)) at the vote position


class Audience(Protocol):
    identity: str

    def judge(self, task: TaskSpec, anchor: Anchor, ballots: list[Ballot], seed: int) -> list[Judgment]:
        """One judgment per ballot, in order; all ballots of a contest arrive together (one batch)."""
        ...

    def judge_many(self, task: TaskSpec, contests: list[tuple[Anchor, list[Ballot], int]]) -> list[list[Judgment]]:
        """`judge` for several contests (anchor, ballots, seed) at once, with the same results."""
        ...
