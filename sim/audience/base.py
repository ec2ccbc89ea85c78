"""The audience interface: each persona reads messages A and B and returns a thought and a choice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agora.sim.schema import Anchor, Persona, TaskSpec


@dataclass(frozen=True)
class Ballot:
    """What one persona is shown: the two messages in the order it sees them. In a campaign (`agora.sim.campaign`)
    the ballot is also the persona's state: the rounds it read before (in the same order: A is the same competitor
    every round) and what it thought after each; only the ballot of the last round asks for the vote that counts."""

    persona: Persona
    a: str
    b: str
    earlier: tuple[tuple[str, str], ...] = ()  # the campaign's earlier rounds as this persona read them: (A's, B's)
    thoughts: tuple[str, ...] = ()  # its provisional thought after each of those rounds
    horizon: int = 1  # rounds in the campaign

    @property
    def round(self) -> int:
        return len(self.earlier) + 1

    @property
    def final(self) -> bool:
        """The last round: its vote decides the contest; an earlier round's is a provisional lean."""
        return self.round == self.horizon

    def then(self, a: str, b: str, thought: str) -> Ballot:
        """The next round's ballot: this round's messages and the persona's thought on them join its memory."""
        return Ballot(self.persona, a, b, (*self.earlier, (self.a, self.b)), (*self.thoughts, thought), self.horizon)


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
        """One judgment per ballot, in order; all ballots of a contest arrive together (one batch). A campaign's
        rounds arrive one call each, in order, each ballot carrying what its persona read before."""
        ...

    def judge_many(self, task: TaskSpec, contests: list[tuple[Anchor, list[Ballot], int]]) -> list[list[Judgment]]:
        """`judge` for several contests (anchor, ballots, seed) at once, with the same results."""
        ...
