"""Shared pieces for the memory tests: a scripted backend, an anchor and outcomes with parametric-style thoughts."""

from __future__ import annotations

import pytest

from agora.sim.capability import Outcome


class Scripted:
    """A backend that replies from a script, in order, and keeps the prompts it was sent."""

    identity = "scripted"

    def __init__(self, replies: list[str]):
        self.replies = list(replies)
        self.prompts: list = []

    def generate(self, prompts, sampling, seeds=None):
        self.prompts += prompts
        return [self.replies.pop(0) if self.replies else "" for _ in prompts]


@pytest.fixture(scope="session")
def anchor(scenarios):
    return scenarios.anchors("sales", "train")[0]


@pytest.fixture(scope="session")
def task(scenarios):
    return scenarios.task("sales")


def outcome(anchor, message: str, votes_for: int, contest: int = 0) -> Outcome:
    """`votes_for` of 4 voters chose me; those for me liked real details, those against me disliked the hype."""
    thoughts = [(f"p{i}", "I prefer A because it gave real details about the product. B lost me because it was all hype.",
                 i < votes_for) for i in range(4)]
    return Outcome(contest, anchor, message, votes_for, 4 - votes_for, votes_for > 2 if votes_for != 2 else None, thoughts)
