"""`ContestModel`: one Mesa step is one contest — draw an anchor, write, judge, record (`play` runs several
contests as one batch with the same rows). A contest with a horizon h > 1 is a campaign: h rounds of writing and
reading, then one vote (`agora.sim.campaign`).

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
from agora.sim.campaign import campaign_invalid, round_seed
from agora.sim.candidates import contest_checks, outcome
from agora.sim.capability import Capability, Outcome
from agora.sim.network import NetworkConfig, cascade, persona_graph
from agora.sim.policy import Policy
from agora.sim.schema import Anchor, Persona, TaskSpec


JUDGMENT_COLUMNS = ["contest", "anchor_id", "persona_id", "shown_a", "shown_b", "vote", "choice", "thought", "parse_status"]
CAMPAIGN_COLUMNS = ["round", "lean"]  # judgments of a campaign (horizon > 1) also have these


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
        horizon: int = 1,
    ):
        super().__init__(seed=seed)
        self.invalid = invalid  # what a contest with an invalid candidate becomes: forfeit | void
        self.horizon = horizon  # messages per competitor in a contest (a campaign when > 1)
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
        """Several contests with one generate call per backend and one audience batch for all of them (per round, in a
        campaign). Each contest draws all its randomness from (seed, contest), each prompt keeps the seed it has when
        played alone, and contests are recorded (and learned from) in order: the rows are those of playing the contests
        one by one, up to the floating-point differences a real model shows between batch shapes (rare tokens
        of long samples). A capability must see an outcome before the next prompt: runs with capabilities play
        one contest at a time."""
        rngs = [random.Random(self.base_seed * 1_000_003 + c) for c in contests]
        anchors = [self.anchor_order[c % len(self.anchor_order)] for c in contests]
        written = [[] for _ in contests]  # per contest, per round, per competitor
        for _ in range(self.horizon):
            for campaign, messages in zip(written, self.write(contests, anchors, written)):
                campaign.append(messages)
        outcomes = [outcome(campaign_invalid([[m["invalid"] for m in messages] for messages in campaign]), self.invalid)
                    for campaign in written]
        judged = self.judge(anchors, [[[m["text"] for m in messages] for messages in campaign] for campaign in written],
                            rngs, [how == "judged" for how, _ in outcomes])
        records = []
        for contest, anchor, campaign, (rounds, tally), rng, result in zip(contests, anchors, written, judged, rngs, outcomes):
            self.contest = contest
            self.last = self.record(anchor, campaign, rounds, tally, rng, result)
            records.append(self.last)
        self.contest = contests[-1] + 1
        return records

    def write(self, contests: list[int], anchors: list[Anchor], written: list[list[list[dict]]]) -> list[list[dict]]:
        """Every competitor's next message in every contest, after the rounds `written` so far; competitors sharing a
        backend are one batch, each prompt with the seed of its contest, competitor and round."""
        done = len(written[0])
        prompts = [[w.prompt(self.task, anchor, [rnd[i]["text"] for rnd in campaign], self.horizon)
                    for i, w in enumerate(self.writers)] for anchor, campaign in zip(anchors, written)]
        completions: list[list[str]] = [[""] * len(self.writers) for _ in contests]
        by_backend: dict[int, list[int]] = {}
        for i, w in enumerate(self.writers):
            by_backend.setdefault(id(w.policy.backend), []).append(i)
        for group in by_backend.values():
            batch, seeds, where = [], [], []
            for k, contest in enumerate(contests):
                call = self.sampling.with_seed(round_seed(self.base_seed * 1_000_003 + contest * 101 + group[0], done))
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
            out.append([{"writer": w, "prompt": prompt, "written": r, "text": r.text, "invalid": reason, "round": done + 1}
                        for w, prompt, r, reason in zip(self.writers, row, read, reasons)])
        return out

    def judge(self, anchors: list[Anchor], texts: list[list[list[str]]], rngs: list[random.Random], shown_to: list[bool]):
        """Each persona sees a random pair order (one for a whole campaign); votes are mapped back to competitor
        indices. All contests' ballots of a round go to the audience together, the rounds in order, each ballot
        carrying what its persona read and thought before; a contest with an invalid candidate (`shown_to` False)
        gets none, though it draws the same randomness, so that the other contests' orders and votes do not change.
        `texts`: per contest, per round, per competitor. Per contest: (per round, the judgments; the final tally)."""
        orders, seeds = [], []
        for rng in rngs:
            orders.append([rng.sample(range(len(self.writers)), 2) for _ in self.voters])
            seeds.append(rng.randrange(2**31))
        live = [k for k, judged in enumerate(shown_to) if judged]
        ballots: dict[int, list[Ballot]] = {}
        verdicts: dict[int, list[list]] = {k: [] for k in live}
        for r in range(self.horizon):
            for k in live:
                shown = texts[k][r]
                if r == 0:
                    ballots[k] = [Ballot(v.persona, shown[a], shown[b], horizon=self.horizon)
                                  for v, (a, b) in zip(self.voters, orders[k])]
                else:
                    ballots[k] = [ballot.then(shown[a], shown[b], verdict.thought)
                                  for ballot, (a, b), verdict in zip(ballots[k], orders[k], verdicts[k][-1])]
            # the last round is judged with a single contest's seed
            items = [(anchors[k], ballots[k], round_seed(seeds[k], self.horizon - 1 - r)) for k in live]
            for k, judged in zip(live, self.audience.judge_many(self.task, items) if items else []):
                verdicts[k].append(judged)
        out = []
        for k in range(len(texts)):
            if k not in verdicts:
                out.append(([], [0] * len(self.writers)))
                continue
            rounds = []
            for judged in verdicts[k]:
                rows = []
                for voter, (a, b), verdict in zip(self.voters, orders[k], judged):
                    rows.append((voter, a, b, {"A": a, "B": b}.get(verdict.vote or ""), verdict))
                rounds.append(rows)
            tally = [0] * len(self.writers)
            for _, _, _, chosen, _ in rounds[-1]:
                if chosen is not None:
                    tally[chosen] += 1
            out.append((rounds, tally))
        return out

    def record(self, anchor, campaign, rounds, tally, rng: random.Random, result: tuple[str, int | None]) -> ContestRecord:
        """The contest's rows; `campaign`: per round, each competitor's message; `rounds`: per round, the judgments
        (the last round's are the votes)."""
        names = [w.name for w in self.writers]
        how, forfeit_to = result
        top = max(tally)
        if how == "judged":
            winner = names[tally.index(top)] if tally.count(top) == 1 else ""
        else:
            winner = names[forfeit_to] if forfeit_to is not None else ""
        judgments = rounds[-1] if rounds else []
        messages = campaign[-1]
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
        campaigning = self.horizon > 1  # a single contest's rows have no round column
        msg_rows = [
            {
                **base,
                **({"round": m["round"]} if campaigning else {}),
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
            for round_messages in campaign for m in round_messages
        ]
        judgment_rows = []
        for r, rows in enumerate(rounds, 1):
            final = r == self.horizon  # an earlier round's choice is a provisional lean: no vote
            for voter, a, b, chosen, verdict in rows:
                choice = names[chosen] if chosen is not None else ""
                judgment_rows.append({
                    **base,
                    "persona_id": voter.persona.id,
                    "shown_a": names[a],
                    "shown_b": names[b],
                    "vote": (verdict.vote or "") if final else "",
                    "choice": choice if final else "",
                    "thought": verdict.thought,
                    "parse_status": verdict.parse_status,
                    **({"round": r, "lean": choice} if campaigning else {}),
                })
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
        columns = JUDGMENT_COLUMNS + (CAMPAIGN_COLUMNS if campaigning else [])
        return ContestRecord(pd.DataFrame(msg_rows), pd.DataFrame(judgment_rows, columns=columns),
                             pd.DataFrame([contest_row]), cascade_rows)
