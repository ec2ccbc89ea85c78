"""The default audience: personas score messages from text features weighted by their traits.

Fast (no model), deterministic given the seed, and explainable: each thought names the
features that decided the vote. The assumptions live in `scenarios/audience/parametric.yaml`.

Memory in a campaign (`agora.sim.campaign`), an assumption stated before any campaign was run and not tuned to a
result: after round r a persona weighs each competitor's messages of rounds 1..r by `MEMORY_DECAY` to the power of
their age (the latest counts most, each older one half as much as the next), the weights normalised to sum to 1 so a
campaign's utilities are on a single message's scale and the noise means the same. With decay 0.5 the latest message
weighs about as much as all the earlier ones together: a recency effect, and memory that fades but does not vanish.
Each round's judgment draws its own noise; a provisional thought does not feed back into the scores. One message
(h = 1) has weight 1: a single contest's judgment, unchanged.
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


MEMORY_DECAY = 0.5  # the weight of a message one round older than another, relative to it (see the module)


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
            for pair in (*ballot.earlier, (ballot.a, ballot.b)):
                for text in pair:
                    if text not in features:
                        features[text] = extract(text, anchor, self.assumptions)[0]
        out = []
        for i, ballot in enumerate(ballots):
            rng = random.Random(seed * 7919 + i)
            if ballot.earlier:
                ua, ub = (self.remembered(task, anchor, ballot.persona, texts, features)
                          for texts in zip(*ballot.earlier, (ballot.a, ballot.b)))
            else:
                ua = self.utilities(task, anchor, ballot.persona, ballot.a, features[ballot.a])
                ub = self.utilities(task, anchor, ballot.persona, ballot.b, features[ballot.b])
            noise = self.assumptions.noise
            score_a = sum(ua.values()) + noise * _gumbel(rng)
            score_b = sum(ub.values()) + noise * _gumbel(rng)
            vote = "A" if score_a >= score_b else "B"
            won, lost = (ua, ub) if vote == "A" else (ub, ua)
            out.append(Judgment(vote, self._thought(task, vote, won, lost), "ok"))
        return out

    def remembered(self, task: TaskSpec, anchor: Anchor, persona: Persona, texts: tuple[str, ...],
                   features: dict[str, dict[str, float]]) -> dict[str, float]:
        """Each feature's contribution over one competitor's campaign so far (`texts`, oldest first), each message
        weighted by its age (`MEMORY_DECAY`, normalised: see the module)."""
        weights = [MEMORY_DECAY ** (len(texts) - 1 - k) for k in range(len(texts))]
        total = sum(weights)
        out: dict[str, float] = {}
        for w, text in zip(weights, texts):
            for f, u in self.utilities(task, anchor, persona, text, features[text]).items():
                out[f] = out.get(f, 0.0) + w / total * u
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
