"""GRPO's reward: the share of audience votes a completion wins, plus the optional terms a config names.

- **votes** (always): each completion of a prompt's group meets each other one (or, with `opponent="base"`, the
  fixed base policy's message for the same anchor) in a two-message contest with the same candidate checks
  (`agora.sim.candidates`), the same ballots (`ContestModel.judge`: each persona sees its own random order) and the
  same audience as `agora run`. A completion's reward is its mean share of the votes over its pairs. A pair with
  one invalid message is forfeited to the other (shares 1 and 0), a pair with none valid is void (0 and 0), as the
  run's `invalid` rule says; so when every pair is judged a group's rewards sum to G/2, the zero-sum game the
  contest is, and GRPO's group baseline is the group's mean, 0.5.
- **misalignment** (weight `probe_penalty`, subtracted): the share of `probe_categories` that the task's
  best-validated probe flags in the message: the probe and options its spec names (what an audit scores the
  category with, `agora.probes.validate.default_probes`), built by name through the probe registry, since
  training sits below `probes/`.
- **grounding** (weight `grounding_weight`, added): `agora.training.fact_qa.grounding(text, questions, anchor)` on
  the anchor's questions (`questions_for(anchor, task)`): the facts stated, less the figures the anchor does not state.

The reward functions share one ledger, so `tables()` has every completion's terms and total, every pair's votes
and every ballot: what the run store keeps.
"""

from __future__ import annotations

import importlib
import inspect
import random
from dataclasses import dataclass
from types import ModuleType

import pandas as pd

from agora.sim.audience.base import Audience
from agora.sim.backends.base import Completion, Sampling, flatten_chat
from agora.sim.candidates import check, contest_checks, outcome
from agora.sim.errors import AgoraError
from agora.sim.model import ContestModel
from agora.sim.policy import Policy, Written
from agora.sim.registry import probes as probe_registry
from agora.sim.schema import Anchor, Persona, TaskSpec

BASE = -1  # the member index of the base policy's message in the pairs table


def fact_qa() -> ModuleType:
    """The fact-question module (issue 19, item 3), imported only when a grounding weight asks for it."""
    try:
        module = importlib.import_module("agora.training.fact_qa")
    except ModuleNotFoundError as err:
        if err.name != "agora.training.fact_qa":
            raise
        raise AgoraError("--grounding-weight needs agora.training.fact_qa (grounding, questions_for), which this "
                         "install lacks; set --grounding-weight 0") from None
    if missing := [f for f in ("grounding", "questions_for") if not hasattr(module, f)]:
        raise AgoraError(f"agora.training.fact_qa has no {', '.join(missing)}; --grounding-weight needs both")
    return module


@dataclass(frozen=True)
class Message:
    """What a probe reads (the fields of `agora.probes.base.Item`, which this layer may not import)."""

    task: str
    message: str
    source: Anchor


def penalty_probes(task: TaskSpec, categories: list[str]) -> dict:
    """Per category, the probe the task spec names with its options, built by name as an audit's default is. A
    probe trained on the gold sets (the classifier) or one that needs a model (a judge) cannot be built so."""
    out = {}
    for category in categories:
        setting = task.categories[category]
        factory = probe_registry.get(setting.probe)
        if setting.probe == "classifier" or "categories" not in inspect.signature(factory).parameters:
            raise AgoraError(f"--probe-category {category}: its probe ({setting.probe}) is not built from the task "
                             "spec alone; penalise a category a rule-based probe scores (fact, populism, manipulation)")
        out[category] = factory(categories={category: setting.options})
    return out


class AudienceReward:
    """TRL reward functions (`functions()`, weighted by `weights()`) over one ledger of what they scored."""

    def __init__(self, *, task: TaskSpec, anchors: list[Anchor], personas: list[Persona], audience: Audience,
                 policy: Policy, group_size: int, max_tokens: int, stops: set[int], invalid: str, seed: int,
                 base: dict[str, tuple[str, Written]] | None = None, probes: dict | None = None,
                 probe_penalty: float = 0.0, grounding_weight: float = 0.0):
        self.task, self.policy, self.group_size, self.max_tokens, self.stops = task, policy, group_size, max_tokens, stops
        self.anchors = {a.id: a for a in anchors}
        self.invalid, self.seed, self.base = invalid, seed, base  # base: anchor id -> (its prompt, the base's message)
        # the two sides of a pair are a contest's two competitors: its judge() deals each persona its ballot (its own
        # random order) and maps the votes back, as in `agora run`; the policy only parses, it writes nothing here
        sides = [(name, "", policy, [], "") for name in ("a", "b")]
        self.contest = ContestModel(task, anchors, personas, sides, audience, Sampling(), seed=seed, invalid=invalid)
        self.probes, self.probe_penalty, self.grounding_weight = probes or {}, probe_penalty, grounding_weight
        self.questions: dict[str, object] = {}
        self.batches = 0
        self.rows: list[dict] = []
        self.pairs: list[dict] = []
        self.ballots: list[dict] = []
        self._batch: list[dict] = []

    def functions(self) -> list:
        """The terms in use, votes first: TRL calls them in this order on each batch."""
        return [self.votes] + ([self.misalignment] if self.probe_penalty else []) + \
            ([self.grounding] if self.grounding_weight else [])

    def weights(self) -> list[float]:
        return [1.0] + ([-self.probe_penalty] if self.probe_penalty else []) + \
            ([self.grounding_weight] if self.grounding_weight else [])

    def votes(self, prompts, completions, completion_ids, anchor_id, trainer_state=None, **_) -> list[float]:
        """Each completion's mean vote share over its pairs; opens the batch's rows in the ledger."""
        self.batches += 1
        step = trainer_state.global_step if trainer_state is not None else 0
        rows = []
        for k, (prompt, completion, ids, aid) in enumerate(zip(prompts, completions, completion_ids, anchor_id)):
            text = completion[-1]["content"] if isinstance(completion, list) else completion
            cut = len(ids) >= self.max_tokens and ids[-1] not in self.stops  # TRL keeps the end token
            anchor = self.anchors[aid]
            written = self.policy.parse(self.task, anchor, Completion(text, cut))
            rows.append({"batch": self.batches, "step": step, "group": k // self.group_size, "member": k % self.group_size,
                         "anchor_id": aid, "prompt": flatten_chat(prompt), "raw": written.raw, "text": written.text,
                         "parse_status": written.parse_status, "tokens": len(ids), "truncated": cut,
                         "invalid": check(written.text, anchor, prompt=flatten_chat(prompt), raw=written.raw, cut=written.truncated),
                         "written": written})
        pairs = self._pairs(rows)
        shares = self._judge(rows, pairs)
        for r, own in zip(rows, shares):
            r["votes"] = sum(own) / len(own)
        self._batch = rows
        self.rows += rows
        return [r["votes"] for r in rows]

    def misalignment(self, completions, **_) -> list[float]:
        rows = self._current(completions)
        items = [Message(self.task.name, r["text"], self.anchors[r["anchor_id"]]) for r in rows]
        flags = {c: [v.label is True for v in self.probes[c].score(items, c)] for c in self.probes}
        for k, r in enumerate(rows):
            r.update({f"flag_{c}": f[k] for c, f in flags.items()})
            r["misalignment"] = sum(f[k] for f in flags.values()) / len(flags)
        return [r["misalignment"] for r in rows]

    def grounding(self, completions, **_) -> list[float]:
        module = fact_qa()
        rows = self._current(completions)
        for r in rows:
            aid = r["anchor_id"]
            if aid not in self.questions:
                self.questions[aid] = module.questions_for(self.anchors[aid], self.task.name)
            value = module.grounding(r["text"], self.questions[aid], self.anchors[aid])
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise AgoraError(f"agora.training.fact_qa.grounding returned {value!r} for anchor {aid}; a term must be in [0, 1]")
            r["grounding"] = float(value)
        return [r["grounding"] for r in rows]

    def tables(self) -> dict[str, pd.DataFrame]:
        """rewards (one row per completion: each term and the weighted total), pairs (their votes), judgments."""
        rewards = pd.DataFrame([{k: v for k, v in r.items() if k != "written"} for r in self.rows])
        if not rewards.empty:
            rewards["reward"] = rewards["votes"]
            if self.probe_penalty:
                rewards["reward"] -= self.probe_penalty * rewards["misalignment"]
            if self.grounding_weight:
                rewards["reward"] += self.grounding_weight * rewards["grounding"]
        return {"rewards": rewards, "pairs": pd.DataFrame(self.pairs), "judgments": pd.DataFrame(self.ballots)}

    def _current(self, completions) -> list[dict]:
        if len(self._batch) != len(completions):
            raise RuntimeError("a reward term was called before the votes of its batch")
        return self._batch

    def _pairs(self, rows: list[dict]) -> list[tuple[int, int]]:
        """Indices into `rows` of each pair to judge; BASE stands for the base policy's message of that anchor."""
        if self.base is not None:
            return [(k, BASE) for k in range(len(rows))]
        pairs = []
        for start in range(0, len(rows), self.group_size):
            group = range(start, min(start + self.group_size, len(rows)))
            if len({rows[k]["anchor_id"] for k in group}) != 1 or len(group) != self.group_size:
                raise RuntimeError("GRPO handed the reward a batch whose groups are not whole prompts")
            pairs += [(i, j) for i in group for j in group if i < j]
        return pairs

    def _judge(self, rows: list[dict], pairs: list[tuple[int, int]]) -> list[list[float]]:
        """Every pair of the batch in one audience batch; each completion's vote share in each of its pairs."""
        def side(row_or_base: int, aid: str) -> tuple[str, Written]:
            if row_or_base == BASE:
                return self.base[aid]
            r = rows[row_or_base]
            return r["prompt"], r["written"]

        anchors, texts, outcomes = [], [], []
        for i, j in pairs:
            anchor = self.anchors[rows[i]["anchor_id"]]
            (pa, wa), (pb, wb) = side(i, anchor.id), side(j, anchor.id)
            reasons = contest_checks([wa.text, wb.text], anchor, [pa, pb], [wa.raw, wb.raw], [wa.truncated, wb.truncated])
            anchors.append(anchor)
            texts.append([[wa.text, wb.text]])  # one round: a single contest, not a campaign
            outcomes.append((reasons, *outcome(reasons, self.invalid)))
        rngs = [random.Random((self.seed * 1_000_003 + self.batches) * 10_007 + p) for p in range(len(pairs))]
        judged = self.contest.judge(anchors, texts, rngs, [how == "judged" for _, how, _ in outcomes])
        shares: list[list[float]] = [[] for _ in rows]
        for p, ((i, j), (reasons, how, forfeit_to), (rounds, tally)) in enumerate(zip(pairs, outcomes, judged)):
            ballots = rounds[-1] if rounds else []
            if how == "judged":
                cast = sum(tally)
                share = [t / cast for t in tally] if cast else [0.5, 0.5]  # every voter abstained: no one won
            else:
                share = [1.0 if forfeit_to == 0 else 0.0, 1.0 if forfeit_to == 1 else 0.0]
            shares[i].append(share[0])
            if j != BASE:
                shares[j].append(share[1])
            names = (f"c{rows[i]['member']}", "base" if j == BASE else f"c{rows[j]['member']}")
            self.pairs.append({"batch": self.batches, "step": rows[i]["step"], "pair": p, "group": rows[i]["group"],
                               "anchor_id": rows[i]["anchor_id"], "a": rows[i]["member"],
                               "b": BASE if j == BASE else rows[j]["member"], "outcome": how, "invalid_a": reasons[0],
                               "invalid_b": reasons[1], "votes_a": tally[0], "votes_b": tally[1],
                               "abstentions": len(ballots) - sum(tally), "share_a": share[0], "share_b": share[1]})
            self.ballots += [{"batch": self.batches, "pair": p, "anchor_id": rows[i]["anchor_id"],
                              "persona_id": voter.persona.id, "shown_a": names[a], "shown_b": names[b],
                              "vote": verdict.vote or "", "choice": names[chosen] if chosen is not None else "",
                              "thought": verdict.thought, "parse_status": verdict.parse_status}
                             for voter, a, b, chosen, verdict in ballots]
        return shares
