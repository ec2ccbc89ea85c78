"""`orders: both`: each persona judges each pair both ways round, and only a choice that survives the swap counts.

A voter that follows the slot rather than the message chooses A both times, which names a different message each
time: that ballot becomes an abstention (parse status `order_disagreement`), not a half vote. A half vote would
pull every share towards 50% by however much the audience's position bias happens to be; an abstention leaves
the share over ballots that read the messages, and the abstention count says how much was lost. With
`vote: logprob` the two P(A)s are averaged instead (the swapped one read as P(B)), so position bias cancels and
no ballot is lost.
"""

from __future__ import annotations

from agora.sim.audience.base import Audience, Ballot, Judgment
from agora.sim.schema import Anchor, TaskSpec


class BothOrders:
    def __init__(self, inner: Audience):
        self.inner = inner
        self.identity = f"{inner.identity} (orders: both)"

    def judge(self, task: TaskSpec, anchor: Anchor, ballots: list[Ballot], seed: int) -> list[Judgment]:
        return self.judge_many(task, [(anchor, ballots, seed)])[0]

    def judge_many(self, task: TaskSpec, contests: list[tuple[Anchor, list[Ballot], int]]) -> list[list[Judgment]]:
        doubled = [(anchor, ballots + [Ballot(b.persona, b.b, b.a) for b in ballots], seed) for anchor, ballots, seed in contests]
        return [[combine(j[i], j[i + len(ballots)]) for i in range(len(ballots))]
                for (_, ballots, _), j in zip(contests, self.inner.judge_many(task, doubled))]


def combine(shown: Judgment, swapped: Judgment) -> Judgment:
    """One judgment from a ballot and its swap, in the first ballot's letters."""
    raw = f"{shown.raw}\n--- swapped ---\n{swapped.raw}" if shown.raw or swapped.raw else ""
    if shown.p_a is not None and swapped.p_a is not None:
        p = (shown.p_a + 1 - swapped.p_a) / 2
        return Judgment(None if p == 0.5 else "A" if p > 0.5 else "B", shown.thought, shown.parse_status, raw, round(p, 6))
    if shown.vote is None or swapped.vote is None:
        return Judgment(None, shown.thought, "abstain", raw)
    if (shown.vote == "A") != (swapped.vote == "B"):  # A then A, or B then B: the slot, not the message
        return Judgment(None, shown.thought, "order_disagreement", raw)
    return Judgment(shown.vote, shown.thought, shown.parse_status, raw)
