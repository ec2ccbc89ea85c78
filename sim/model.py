"""`ContestModel`: one Mesa step is one contest — draw an anchor, write, judge, record (`play` runs several
contests as one batch with the same rows).

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
from agora.sim.backends.base import Sampling, flatten_chat, prompt_seeds
from agora.sim.candidates import contest_checks, outcome
from agora.sim.capability import Capability, Outcome
from agora.sim.network import NetworkConfig, cascade, persona_graph
from agora.sim.policy import Policy
from agora.sim.schema import Anchor, Persona, TaskSpec


JUDGMENT_COLUMNS = ["contest", "anchor_id", "persona_id", "shown_a", "shown_b", "vote", "choice", "thought", "parse_status"]


@dataclass
class ContestRecord:
    """The rows one contest adds to each table; `cascades` (whose posts reached each persona, and which it liked and
    passed on) only where posts spread over the persona network (social)."""

    messages: pd.DataFrame
    judgments: pd.DataFrame
    contest: pd.DataFrame
    cascades: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The rows by table name, as the run store commits them."""
        tables = {"messages": self.messages, "judgments": self.judgments, "contests": self.contest}
        return tables if self.cascades is None else {**tables, "cascades": self.cascades}


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
        invalid: str = "judge",
    ):
        super().__init__(seed=seed)
        self.invalid = invalid  # what a contest with an invalid candidate becomes: forfeit | void
        self.task = task
        self.audience = audience
        self.sampling = sampling
        self.base_seed = seed
        self.contest = 0
        self.anchor_order = list(anchors)
        random.Random(seed).shuffle(self.anchor_order)
        self.network = network if task.spreads else None
        self.space = None
        if self.network:
            self.graph = persona_graph(len(personas), self.network, seed)
            self.space = mesa.discrete_space.Network(self.graph, random=self.random)
        self.writers = [CompetitorAgent(self, n, spec, p, caps, instruction, placement)
                        for n, spec, p, caps, instruction in competitors]
        self.voters = [PersonaAgent(self, p, node=i) for i, p in enumerate(personas)]
        self.last: ContestRecord | None = None

    def step(self) -> None:
        """One contest: draw an anchor, write, judge, record."""
        self.play([self.contest])

    def play(self, contests: list[int]) -> list[ContestRecord]:
        """Several contests with one generate call per backend and one audience batch for all of them. Each
        contest draws all its randomness from (seed, contest), each prompt keeps the seed it has when played
        alone, and contests are recorded (and learned from) in order: the rows are those of playing the contests
        one by one, up to the floating-point differences a real model shows between batch shapes (rare tokens
        of long samples). A capability must see an outcome before the next prompt: runs with capabilities play
        one contest at a time."""
        rngs = [random.Random(self.base_seed * 1_000_003 + c) for c in contests]
        anchors = [self.anchor_order[c % len(self.anchor_order)] for c in contests]
        written = self.write(contests, anchors)
        outcomes = [outcome([m["invalid"] for m in messages], self.invalid) for messages in written]
        judged = self.judge(anchors, [[m["text"] for m in messages] for messages in written], rngs,
                            [how == "judged" for how, _ in outcomes])
        records = []
        for contest, anchor, messages, (judgments, tally), rng, result in zip(contests, anchors, written, judged, rngs, outcomes):
            self.contest = contest
            self.last = self.record(anchor, messages, judgments, tally, rng, result)
            records.append(self.last)
        self.contest = contests[-1] + 1
        return records

    def write(self, contests: list[int], anchors: list[Anchor]) -> list[list[dict]]:
        """Every competitor's message in every contest; competitors sharing a backend are one batch, each prompt
        with the seed of its contest and competitor."""
        prompts = [[w.prompt(self.task, anchor) for w in self.writers] for anchor in anchors]
        completions: list[list[str]] = [[""] * len(self.writers) for _ in contests]
        by_backend: dict[int, list[int]] = {}
        for i, w in enumerate(self.writers):
            by_backend.setdefault(id(w.policy.backend), []).append(i)
        for group in by_backend.values():
            batch, seeds, where = [], [], []
            for k, contest in enumerate(contests):
                call = self.sampling.with_seed(self.base_seed * 1_000_003 + contest * 101 + group[0])
                seeds += prompt_seeds(call, len(group))
                batch += [prompts[k][i] for i in group]
                where += [(k, i) for i in group]
            for (k, i), text in zip(where, self.writers[group[0]].policy.backend.generate(batch, self.sampling, seeds)):
                completions[k][i] = text
        out = []
        for anchor, row, texts in zip(anchors, prompts, completions):
            read = [w.read(self.task, anchor, completion) for w, completion in zip(self.writers, texts)]
            reasons = contest_checks([r.text for r in read], anchor, [flatten_chat(p) for p in row],
                                     [r.raw for r in read], [r.truncated for r in read])
            out.append([{"writer": w, "prompt": prompt, "written": r, "text": r.text, "invalid": reason}
                        for w, prompt, r, reason in zip(self.writers, row, read, reasons)])
        return out

    def judge(self, anchors: list[Anchor], texts: list[list[str]], rngs: list[random.Random], shown_to: list[bool]):
        """Each persona sees a random pair order; votes are mapped back to competitor indices. All contests'
        ballots go to the audience together; a contest with an invalid candidate (`shown_to` False) gets none,
        though it draws the same randomness, so that the other contests' orders and votes do not change."""
        orders, items = [], []
        for anchor, shown, rng in zip(anchors, texts, rngs):
            order = [rng.sample(range(len(shown)), 2) for _ in self.voters]
            ballots = [Ballot(v.persona, shown[a], shown[b]) for v, (a, b) in zip(self.voters, order)]
            orders.append(order)
            items.append((anchor, ballots, rng.randrange(2**31)))
        shown_items = [i for i, judged in zip(items, shown_to) if judged]
        verdicts_of = iter(self.audience.judge_many(self.task, shown_items) if shown_items else [])
        out = []
        for shown, order, judged in zip(texts, orders, shown_to):
            if not judged:
                out.append(([], [0] * len(shown)))
                continue
            verdicts = next(verdicts_of)
            tally = [0] * len(shown)
            rows = []
            for voter, (a, b), verdict in zip(self.voters, order, verdicts):
                chosen = {"A": a, "B": b}.get(verdict.vote or "")
                if chosen is not None:
                    tally[chosen] += 1
                rows.append((voter, a, b, chosen, verdict))
            out.append((rows, tally))
        return out

    def record(self, anchor, messages, judgments, tally, rng: random.Random, result: tuple[str, int | None]) -> ContestRecord:
        names = [w.name for w in self.writers]
        how, forfeit_to = result
        top = max(tally)
        if how == "judged":
            winner = names[tally.index(top)] if tally.count(top) == 1 else ""
        else:
            winner = names[forfeit_to] if forfeit_to is not None else ""
        likes = exposures = [0] * len(names)
        seeds: list[int] = []
        base = {"contest": self.contest, "anchor_id": anchor.id}
        cascade_rows = None
        if self.network:
            seeds = rng.sample(range(len(self.voters)), min(self.network.seeds, len(self.voters)))
            spread = [cascade([self.voters[s] for s in seeds], {v for v, _, _, c, _ in judgments if c == i})
                      for i in range(len(names))]
            likes, exposures = [len(shared) for shared, _ in spread], [len(saw) for _, saw in spread]
            cascade_rows = pd.DataFrame([
                {**base, "persona_id": v.persona.id, "saw": [n for n, (_, saw) in zip(names, spread) if v in saw],
                 "shared": [n for n, (shared, _) in zip(names, spread) if v in shared]}
                for v in self.voters
            ])
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
                "invalid": m["invalid"],  # why it is no candidate ("" for a valid one): see agora.sim.candidates
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
            "outcome": how,  # judged | forfeit (one invalid candidate) | void (no valid pair)
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
            won = None if not winner or how != "judged" else winner == w.name  # a forfeit says nothing of persuasion
            others = sum(tally) - tally[i]
            w.learn(self.task, Outcome(self.contest, anchor, messages[i]["text"], tally[i], others, won, thoughts))
        return ContestRecord(pd.DataFrame(msg_rows), pd.DataFrame(judgment_rows, columns=JUDGMENT_COLUMNS),
                             pd.DataFrame([contest_row]), cascade_rows)
