"""ACE (Zhang et al. 2025): an evolving playbook of bullets, updated by delta operations, never rewritten whole.

    [strategies-00001] helpful=3 harmful=1 :: Stick to the facts you were given. Voters said: it gave real details.

Generator: the competitor writes with the playbook in its prompt; the bullets shown are the ones it used. Reflector:
from the outcome (votes, thoughts), what worked or failed, and a helpful/harmful/neutral tag per used bullet, in up to
`reflect_rounds` rounds. Curator: delta operations (ADD, UPDATE, MERGE, DELETE), merged by `Playbook.apply` —
plain code, no model. Grow-and-refine: after each update, bullets whose embeddings lie within `dedup_threshold` of an
earlier one are MERGEd into it (first id kept, counters summed), and the lowest-scoring bullets are dropped while the
playbook is over `token_budget`. `mode="monolithic"` is the baseline ACE argues against: the whole playbook rewritten
from itself and the new lesson each time (context collapse). Offline mode is `offline()`; online is the capability
itself in a run (predict, then update).
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from agora.memory.embeddings import duplicate_groups, load_embedder
from agora.memory.roles import (ROLE_PATHS, Reflection, RoleLog, llm_curate, llm_reflect, llm_rewrite, role_path,
                                rule_reflect, share)
from agora.sim.backends.base import Prompt
from agora.sim.capability import Outcome
from agora.sim.errors import AgoraError
from agora.sim.instructions import with_instruction
from agora.sim.registry import capabilities
from agora.sim.schema import Anchor, TaskSpec

SECTIONS = ("strategies", "pitfalls")
OPS = ("ADD", "UPDATE", "MERGE", "DELETE")


@dataclass
class Bullet:
    id: str
    section: str
    content: str
    helpful: int = 0
    harmful: int = 0
    strategy: str = ""  # the rule path's strategy name; "" for a bullet an LLM wrote

    @property
    def score(self) -> int:
        return self.helpful - self.harmful

    def line(self) -> str:
        return f"[{self.id}] helpful={self.helpful} harmful={self.harmful} :: {self.content}"

    @property
    def instruction(self) -> str:
        """The bullet's first sentence: the one instruction the embedded model can follow."""
        return self.content.split(". ", 1)[0].rstrip(".") + "."


@dataclass
class Playbook:
    bullets: list[Bullet] = field(default_factory=list)
    next_id: int = 1

    def get(self, bullet_id: str) -> Bullet | None:
        return next((b for b in self.bullets if b.id == bullet_id), None)

    def render(self) -> str:
        parts = []
        for section in SECTIONS:
            lines = [b.line() for b in self.bullets if b.section == section]
            if lines:
                parts.append(f"## {section}\n" + "\n".join(lines))
        return "\n\n".join(parts)

    def tokens(self) -> int:
        return len(self.render().split())

    def add(self, section: str, content: str, strategy: str = "") -> Bullet:
        bullet = Bullet(f"{section}-{self.next_id:05d}", section, content, strategy=strategy)
        self.next_id += 1
        self.bullets.append(bullet)
        return bullet

    def apply(self, ops: list[dict]) -> list[dict]:
        """Merge delta operations deterministically, in order; returns the rejected ones with the reason."""
        rejected = []
        for op in ops:
            kind = op.get("type")
            ids = [op["id"]] if "id" in op else list(op.get("ids") or [])
            missing = [i for i in ids if self.get(str(i)) is None]
            content = str(op.get("content") or "").strip()
            if kind not in OPS:
                why = f"unknown type {kind!r}; valid: {', '.join(OPS)}"
            elif kind == "ADD" and (op.get("section") not in SECTIONS or not content):
                why = f"ADD needs content and a section in {', '.join(SECTIONS)}"
            elif kind != "ADD" and (missing or not ids):
                why = f"unknown bullet id(s) {missing or ids}"
            elif kind == "UPDATE" and not content:
                why = "UPDATE needs content"
            elif kind == "MERGE" and len(set(ids)) < 2:
                why = "MERGE needs two or more ids"
            else:
                why = ""
            if why:
                rejected.append({**op, "why": why})
                continue
            if kind == "ADD":
                self.add(op["section"], content, op.get("strategy", ""))
            elif kind == "UPDATE":
                self.get(ids[0]).content = content
            elif kind == "DELETE":
                self.bullets.remove(self.get(ids[0]))
            else:  # MERGE: keep the earliest bullet, sum the counters
                merged = sorted((self.get(str(i)) for i in dict.fromkeys(ids)), key=self.bullets.index)
                keep = merged[0]
                keep.helpful, keep.harmful = sum(b.helpful for b in merged), sum(b.harmful for b in merged)
                keep.content = content or keep.content
                keep.strategy = keep.strategy or next((b.strategy for b in merged if b.strategy), "")
                self.bullets = [b for b in self.bullets if b not in merged[1:]]
        return rejected

    def tag(self, tags: dict[str, str]) -> None:
        for bullet_id, tag in tags.items():
            if (b := self.get(bullet_id)) is not None:
                b.helpful += tag == "helpful"
                b.harmful += tag == "harmful"

    def dedup_ops(self, embedder, threshold: float) -> list[dict]:
        """MERGE operations for bullets of one section within `threshold` cosine of an earlier bullet."""
        ops = []
        for section in SECTIONS:
            members = [b for b in self.bullets if b.section == section]
            for group in duplicate_groups(embedder, [b.content for b in members], threshold):
                if len(group) > 1:
                    ops.append({"type": "MERGE", "ids": [members[i].id for i in group]})
        return ops

    def trim_ops(self, budget: int) -> list[dict]:
        """DELETE the lowest-scoring (then newest) bullets until the rendered playbook fits `budget` tokens."""
        ops, kept = [], list(self.bullets)
        order = sorted(kept, key=lambda b: (b.score, -kept.index(b)))
        while kept and len(Playbook(kept).render().split()) > budget:
            worst = order.pop(0)
            kept.remove(worst)
            ops.append({"type": "DELETE", "id": worst.id})
        return ops


def rule_curate(playbook: Playbook, reflection: Reflection, delete_margin: int) -> list[dict]:
    """ADD the insight unless the playbook says exactly that already; DELETE bullets tagged harmful `delete_margin`
    more times than helpful. Semantic duplicates are left to grow-and-refine."""
    ops = []
    if reflection.key_insight and not any(b.content == reflection.key_insight for b in playbook.bullets):
        ops.append({"type": "ADD", "section": reflection.section, "content": reflection.key_insight,
                    "strategy": reflection.strategy})
    ops += [{"type": "DELETE", "id": b.id} for b in playbook.bullets if b.harmful - b.helpful >= delete_margin]
    return ops


def rule_rewrite(playbook: Playbook, reflection: Reflection, keep: float) -> list[Bullet]:
    """The monolithic baseline without a model: the playbook written anew as the lesson plus a shortened copy of the
    old text (the first `keep` share of its bullets); counters do not survive a rewrite."""
    old = playbook.bullets[: math.ceil(keep * len(playbook.bullets))]
    fresh = [Bullet("", reflection.section, reflection.key_insight, strategy=reflection.strategy)] if reflection.key_insight else []
    return fresh + [Bullet("", b.section, b.content, strategy=b.strategy) for b in old if b.content != reflection.key_insight]


@dataclass
class ACEConfig:
    mode: str = field(default="delta", metadata={"help": "delta (curator operations) | monolithic (full rewrite baseline)"})
    roles: str = field(default="auto", metadata={"help": "auto (llm for a chat policy, rule for the slot model) | rule | llm"})
    reflect_rounds: int = field(default=3, metadata={"help": "Reflector refinement rounds (LLM path)"})
    dedup: bool = field(default=True, metadata={"help": "grow-and-refine: merge semantic duplicates after each update"})
    dedup_threshold: float = field(default=0.9, metadata={"help": "cosine at or above which bullets merge"})
    token_budget: int = field(default=400, metadata={"help": "most whitespace tokens the rendered playbook may take"})
    show: int = field(default=1, metadata={"help": "bullets put into a slot prompt (the embedded model follows one)"})
    delete_margin: int = field(default=3, metadata={"help": "harmful minus helpful at which the rule curator deletes"})
    rewrite_keep: float = field(default=0.5, metadata={"help": "monolithic rule rewrite: share of old bullets kept"})
    embedder: str = field(default="auto", metadata={"help": "auto | wordllama-l2_supercat_256 | tfidf"})
    role_tokens: int = field(default=320, metadata={"help": "most new tokens of an LLM role's reply"})

    def __post_init__(self):
        if self.mode not in ("delta", "monolithic"):
            raise AgoraError(f"ace mode: {self.mode!r} is not delta or monolithic")
        if self.roles not in ROLE_PATHS:
            raise AgoraError(f"ace roles: {self.roles!r}; use {', '.join(ROLE_PATHS)}")


@capabilities.register("ace")
class ACECapability:
    """A competitor with an ACE playbook: shown before it writes, updated from each contest's outcome."""

    name = "ace"

    def __init__(self, backend=None, seed: int = 0, **settings):
        self.config = ACEConfig(**settings)
        self.backend = backend
        self.seed = seed
        self.embedder = load_embedder(self.config.embedder)
        self.playbook = Playbook()
        self.log = RoleLog()
        self.history: list[dict] = []
        self.frozen = False  # offline validation: predict without updating
        self.path = ""  # the roles' path actually taken: rule | llm
        self._used: list[str] = []

    def before_write(self, task: TaskSpec, anchor: Anchor, prompt: Prompt) -> Prompt:
        chat = not isinstance(prompt, str)
        self.path = role_path(self.config.roles, prompt, self.backend)
        if chat:
            shown = self.playbook.bullets
            text = ("Playbook of lessons from earlier contests (use what helps):\n" + self.playbook.render()) if shown else ""
        else:
            ranked = sorted((b for b in self.playbook.bullets if b.section == "strategies" and b.score >= 0),
                            key=lambda b: -b.score)  # stable: ties keep the earlier bullet first
            shown = ranked[: self.config.show]
            text = " ".join(b.instruction for b in shown)
        self._used = [b.id for b in shown]
        return with_instruction(prompt, text)

    def after_outcome(self, task: TaskSpec, outcome: Outcome) -> None:
        entry = {"contest": outcome.contest, "anchor": outcome.anchor.id, "share": round(share(outcome), 3),
                 "used": list(self._used)}
        if self.frozen:
            self.history.append(entry)
            return
        seed = self.seed * 1_000_003 + outcome.contest
        reflection = self.reflect(task, outcome, seed)
        self.playbook.tag(reflection.tags)
        if self.config.mode == "monolithic":
            self.rewrite(reflection, seed)
            ops, rejected = [], []
        else:
            ops = self.curate(reflection, seed)
            rejected = self.playbook.apply(ops)
            if self.config.dedup:
                merges = self.playbook.dedup_ops(self.embedder, self.config.dedup_threshold)
                rejected += self.playbook.apply(merges)
                ops += merges
        trims = self.playbook.trim_ops(self.config.token_budget)
        self.playbook.apply(trims)
        self.history.append({**entry, "insight": reflection.key_insight, "tags": reflection.tags,
                             "ops": [o["type"] for o in ops + trims], "rejected": len(rejected),
                             "bullets": len(self.playbook.bullets), "tokens": self.playbook.tokens()})

    def reflect(self, task: TaskSpec, outcome: Outcome, seed: int) -> Reflection:
        return self.log.pick(
            "reflector", self.path,
            lambda: llm_reflect(self.backend, outcome, self._used, seed, self.config.reflect_rounds, self.config.role_tokens),
            lambda: rule_reflect(task.name, outcome, self._used))

    def curate(self, reflection: Reflection, seed: int) -> list[dict]:
        return self.log.pick(
            "curator", self.path,
            lambda: llm_curate(self.backend, self.playbook.render(), reflection, seed, self.config.role_tokens),
            lambda: rule_curate(self.playbook, reflection, self.config.delete_margin))

    def rewrite(self, reflection: Reflection, seed: int) -> None:
        """Monolithic baseline: replace the playbook with a rewrite of it (new ids, counters lost)."""

        def llm() -> list[Bullet] | str:
            found = llm_rewrite(self.backend, self.playbook.render(), reflection.key_insight, seed, self.config.role_tokens)
            return found if isinstance(found, str) else [Bullet("", "strategies", c) for c in found]

        bullets = self.log.pick("rewriter", self.path, llm,
                                lambda: rule_rewrite(self.playbook, reflection, self.config.rewrite_keep))
        fresh = Playbook(next_id=self.playbook.next_id)
        for b in bullets:
            fresh.add(b.section, b.content, b.strategy)
        self.playbook = fresh

    def state(self) -> dict:
        return {"embedder": self.embedder.name, "config": asdict(self.config), "roles": self.path,
                "role_log": self.log.as_dict(), "bullets": [asdict(b) for b in self.playbook.bullets],
                "next_id": self.playbook.next_id, "playbook": self.playbook.render(), "history": self.history[-200:]}

    def restore(self, state: dict) -> None:
        """The playbook, its id counter and the logs; each role's seed comes from the contest, so nothing else."""
        self.playbook = Playbook([Bullet(**b) for b in state["bullets"]], state["next_id"])
        self.log = RoleLog(Counter(state["role_log"]["ran"]), list(state["role_log"]["fallbacks"]))
        self.history = list(state["history"])
        self.path = state["roles"]


def offline(cap: ACECapability, train_epoch: Callable[[], None], validate: Callable[[], float], epochs: int) -> list[dict]:
    """ACE offline: `epochs` passes over the training anchors (`train_epoch` plays them, updating the playbook); after
    each, the playbook is scored on validation anchors with updates frozen. The best playbook is kept in `cap`."""
    rows, best, best_score = [], copy.deepcopy(cap.playbook), validate_frozen(cap, validate)
    rows.append({"epoch": 0, "bullets": len(cap.playbook.bullets), "tokens": cap.playbook.tokens(), "score": best_score})
    for epoch in range(1, epochs + 1):
        train_epoch()
        score = validate_frozen(cap, validate)
        rows.append({"epoch": epoch, "bullets": len(cap.playbook.bullets), "tokens": cap.playbook.tokens(), "score": score})
        if score > best_score:
            best, best_score = copy.deepcopy(cap.playbook), score
    cap.playbook = best
    return rows


def validate_frozen(cap: ACECapability, validate: Callable[[], float]) -> float:
    cap.frozen = True
    try:
        return validate()
    finally:
        cap.frozen = False
