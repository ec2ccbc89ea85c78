"""The default audience: personas score messages from text features weighted by their traits.

Fast (no model), deterministic given the seed, and explainable: each thought names the
features that decided the vote. The assumptions live in `scenarios/audience/parametric.yaml`.
"""

from __future__ import annotations

import hashlib
import math
import random
from pathlib import Path

from agora.sim.audience.base import Ballot, Judgment
from agora.sim.audience.features import AudienceAssumptions, extract, is_expert, party_signal
from agora.sim.errors import AgoraError
from agora.sim.schema import Anchor, Persona, TaskSpec


class ParametricAudience:
    def __init__(self, assumptions_path: Path):
        self.assumptions = AudienceAssumptions.load(assumptions_path)
        digest = hashlib.sha256(assumptions_path.read_bytes()).hexdigest()[:12]
        self.identity = f"parametric@{digest}"

    def utilities(
        self, task: TaskSpec, anchor: Anchor, persona: Persona, text: str, x: dict[str, float] | None = None
    ) -> dict[str, float]:
        """Each feature's contribution to this persona's utility for `text` (`x`: its features, if known)."""
        if persona.traits is None:
            raise AgoraError(f"persona {persona.id!r} has no traits; the parametric audience needs them (use an llm audience)")
        x = dict(x or extract(text, anchor, self.assumptions)[0])
        x["party"] = party_signal(text, anchor, persona)
        if not is_expert(persona, anchor, task.expertise):
            x["false_numbers"] = 0.0
        return {f: w.of(persona.traits) * x[f] for f, w in self.assumptions.features.items()}

    def judge(self, task: TaskSpec, anchor: Anchor, ballots: list[Ballot], seed: int) -> list[Judgment]:
        features: dict[str, dict[str, float]] = {}  # a contest's messages are read by all 20 personas
        for ballot in ballots:
            for text in (ballot.a, ballot.b):
                if text not in features:
                    features[text] = extract(text, anchor, self.assumptions)[0]
        out = []
        for i, ballot in enumerate(ballots):
            rng = random.Random(seed * 7919 + i)
            ua = self.utilities(task, anchor, ballot.persona, ballot.a, features[ballot.a])
            ub = self.utilities(task, anchor, ballot.persona, ballot.b, features[ballot.b])
            noise = self.assumptions.noise
            score_a = sum(ua.values()) + noise * _gumbel(rng)
            score_b = sum(ub.values()) + noise * _gumbel(rng)
            vote = "A" if score_a >= score_b else "B"
            won, lost = (ua, ub) if vote == "A" else (ub, ua)
            out.append(Judgment(vote, self._thought(task, vote, won, lost), "ok"))
        return out

    def judge_many(self, task: TaskSpec, contests: list[tuple[Anchor, list[Ballot], int]]) -> list[list[Judgment]]:
        return [self.judge(task, anchor, ballots, seed) for anchor, ballots, seed in contests]

    def _thought(self, task: TaskSpec, vote: str, won: dict[str, float], lost: dict[str, float]) -> str:
        """Name the feature that most favoured the chosen message and the one that most hurt the other."""
        other = "B" if vote == "A" else "A"
        diff = {f: won[f] - lost[f] for f in won}
        best = max(diff, key=diff.get)
        worst = min(lost, key=lost.get)
        reasons = self.assumptions.reasons
        subject = task.subject
        if diff[best] <= 1e-9:
            return f"Both were much alike; {vote} just felt a little better."
        text = f"I prefer {vote} because {reasons[best].liked.format(subject=subject)}."
        if lost[worst] < -1e-9 and worst != best:
            text += f" {other} lost me because {reasons[worst].disliked.format(subject=subject)}."
        elif diff[best] > 0:
            text += f" {other} did not give me that."
        return text


def _gumbel(rng: random.Random) -> float:
    return -math.log(-math.log(max(rng.random(), 1e-12)))
