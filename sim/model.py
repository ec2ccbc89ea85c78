"""`ContestModel`: one Mesa step is one contest — draw an anchor, write, judge, record.

All randomness of contest `i` comes from `(seed, i)`, not from the steps before it, so a run
resumed at contest `i` produces exactly the rows an uninterrupted run would have.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

import mesa
import pandas as pd

from agora.sim.agents import CompetitorAgent, PersonaAgent
from agora.sim.audience.base import Audience, Ballot
from agora.sim.backends.base import Sampling
from agora.sim.capability import Capability, Outcome
from agora.sim.network import NetworkConfig, cascade, persona_graph
from agora.sim.policy import Policy
from agora.sim.schema import Anchor, Persona, TaskSpec


@dataclass
class ContestRecord:
    """The rows one contest adds to each table."""

    messages: pd.DataFrame
    judgments: pd.DataFrame
    contest: pd.DataFrame


class ContestModel(mesa.Model):
    def __init__(
        self,
        task: TaskSpec,
        anchors: list[Anchor],
        personas: list[Persona],
        competitors: list[tuple[str, str, Policy, list[Capability], str]],
        audience: Audience,
        sampling: Sampling,
        network: NetworkConfig | None = None,
        seed: int = 0,
        placement: str = "user",
    ):
        super().__init__(seed=seed)
        self.task = task
        self.audience = audience
        self.sampling = sampling
        self.base_seed = seed
        self.contest = 0
        self.anchor_order = list(anchors)
        random.Random(seed).shuffle(self.anchor_order)
        self.network = network if task.name == "social" else None
        self.space = None
        if self.network:
            self.graph = persona_graph(len(personas), self.network, seed)
            self.space = mesa.discrete_space.Network(self.graph, random=self.random)
        self.writers = [CompetitorAgent(self, n, spec, p, caps, instruction, placement)
                        for n, spec, p, caps, instruction in competitors]
        self.voters = [PersonaAgent(self, p, node=i) for i, p in enumerate(personas)]
        self.last: ContestRecord | None = None
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "abstentions": lambda m: int((m.last.judgments["choice"] == "").sum()) if m.last else 0,
                "winner": lambda m: m.last.contest["winner"].iat[0] if m.last else "",
                "cascade": lambda m: m.last.contest["cascade_max"].iat[0] if m.last else 0,
            }
        )

    def step(self) -> None:
        rng = random.Random(self.base_seed * 1_000_003 + self.contest)
        anchor = self.anchor_order[self.contest % len(self.anchor_order)]
        messages = self.write(anchor)
        judgments, tally = self.judge(anchor, [m["text"] for m in messages], rng)
        self.last = self.record(anchor, messages, judgments, tally, rng)
        self.datacollector.collect(self)
        self.contest += 1

    def write(self, anchor: Anchor) -> list[dict]:
        """Every competitor's message; competitors sharing a backend are generated as one batch."""
        prompts = [w.prompt(self.task, anchor) for w in self.writers]
        completions: list[str | None] = [None] * len(self.writers)
        by_backend: dict[int, list[int]] = {}
        for i, w in enumerate(self.writers):
            by_backend.setdefault(id(w.policy.backend), []).append(i)
        for group in by_backend.values():
            backend = self.writers[group[0]].policy.backend
            sampling = self.sampling.with_seed(self.base_seed * 1_000_003 + self.contest * 101 + group[0])
            for i, text in zip(group, backend.generate([prompts[i] for i in group], sampling)):
                completions[i] = text
        out = []
        for w, prompt, completion in zip(self.writers, prompts, completions):
            written = w.read(self.task, anchor, completion or "")
            out.append({"writer": w, "prompt": prompt, "written": written, "text": written.text})
        return out

    def judge(self, anchor: Anchor, texts: list[str], rng: random.Random):
        """Each persona sees a random pair order; votes are mapped back to competitor indices."""
        orders = [rng.sample(range(len(texts)), 2) for _ in self.voters]
        ballots = [Ballot(v.persona, texts[a], texts[b]) for v, (a, b) in zip(self.voters, orders)]
        verdicts = self.audience.judge(self.task, anchor, ballots, seed=rng.randrange(2**31))
        tally = [0] * len(texts)
        rows = []
        for voter, (a, b), verdict in zip(self.voters, orders, verdicts):
            chosen = {"A": a, "B": b}.get(verdict.vote or "")
            if chosen is None:
                voter.abstentions += 1
            else:
                tally[chosen] += 1
            rows.append((voter, a, b, chosen, verdict))
        return rows, tally

    def record(self, anchor, messages, judgments, tally, rng: random.Random) -> ContestRecord:
        names = [w.name for w in self.writers]
        top = max(tally)
        winner = names[tally.index(top)] if tally.count(top) == 1 else ""
        likes = exposures = [0] * len(names)
        seeds: list[int] = []
        if self.network:
            seeds = rng.sample(range(len(self.voters)), min(self.network.seeds, len(self.voters)))
            spread = [
                cascade(self.graph, seeds, {v.node for v, _, _, c, _ in judgments if c == i}) for i in range(len(names))
            ]
            likes, exposures = [s[0] for s in spread], [s[1] for s in spread]
        base = {"contest": self.contest, "anchor_id": anchor.id}
        msg_rows = [
            {
                **base,
                "competitor": m["writer"].name,
                "policy": m["writer"].policy_spec,
                "prompt": m["prompt"] if isinstance(m["prompt"], str) else json.dumps(m["prompt"]),
                "raw": m["written"].raw,
                "text": m["text"],
                "thinking": m["written"].thinking,
                "parse_status": m["written"].parse_status,
                "tokens": len(m["written"].raw.split()),
            }
            for m in messages
        ]
        judgment_rows = [
            {
                **base,
                "persona_id": voter.persona.id,
                "shown_a": names[a],
                "shown_b": names[b],
                "vote": verdict.vote or "",
                "choice": names[chosen] if chosen is not None else "",
                "thought": verdict.thought,
                "parse_status": verdict.parse_status,
            }
            for voter, a, b, chosen, verdict in judgments
        ]
        contest_row = {
            **base,
            "winner": winner,
            "votes": tally,
            "vote_share": [t / max(1, sum(tally)) for t in tally],
            "abstentions": len(judgments) - sum(tally),
            "competitors": names,
            "cascade_likes": likes,
            "cascade_exposures": exposures,
            "cascade_max": max(likes),
            "cascade_seeds": [self.voters[s].persona.id for s in seeds],  # where the posts started (social)
        }
        for i, w in enumerate(self.writers):
            thoughts = [(v.persona.id, verdict.thought, chosen == i) for v, _, _, chosen, verdict in judgments]
            won = None if not winner else winner == w.name
            others = sum(tally) - tally[i]
            w.learn(self.task, Outcome(self.contest, anchor, messages[i]["text"], tally[i], others, won, thoughts))
        return ContestRecord(pd.DataFrame(msg_rows), pd.DataFrame(judgment_rows), pd.DataFrame([contest_row]))
