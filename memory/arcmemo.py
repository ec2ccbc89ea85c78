"""ArcMemo (Ho et al. 2025): a memory of abstract concepts, written from contest traces and read before writing.

Two concept formats, as in the paper: open-ended lessons (situation -> suggestion) and program-synthesis style
concepts (a named, typed, parameterised routine with cues for when it applies). Writing abstracts concepts from the
traces of the last `update_every` contests (continual updates); reading picks concepts by top-k similarity of the
contest's situation to each concept's key (its situation, or its cues and description), or by reasoning-based
selection, where the policy itself names the concepts it wants. The abstractor and the selector have an LLM path and
a rule path (`roles.py`); the embedded slot model takes the rule path, and `state()["role_log"]` says so.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field

from agora.memory.embeddings import load_embedder, similarity
from agora.memory.roles import (ROLE_PATHS, RoleLog, llm_abstract, llm_select, outcome_text, reasons, role_path,
                                rule_reflect, share, situation, strategy)
from agora.sim.backends.base import Prompt
from agora.sim.capability import Outcome
from agora.sim.errors import AgoraError
from agora.sim.instructions import with_instruction
from agora.sim.registry import capabilities
from agora.sim.schema import Anchor, TaskSpec

FORMATS = ("open", "program")
READS = ("topk", "reasoning")


@dataclass
class Concept:
    name: str
    situation: str = ""  # open-ended: when it applies
    suggestion: str = ""  # open-ended: what to do
    kind: str = "routine"  # program style: a typed, parameterised routine
    parameters: list[dict] = field(default_factory=list)  # [{"name": ..., "type": ...}]
    description: str = ""
    cues: list[str] = field(default_factory=list)
    implementation: str = ""
    source: str = ""  # the trace it came from: contest and outcome
    uses: int = 0
    wins: float = 0.0  # summed vote share when it was used

    def key(self, fmt: str) -> str:
        """What a situation is compared with when reading."""
        return self.situation if fmt == "open" else f"{self.description} {' '.join(self.cues)}"

    def render(self, fmt: str) -> str:
        if fmt == "open":
            return f"- When {self.situation}: {self.suggestion}"
        params = ", ".join(f"{p.get('name')}: {p.get('type')}" for p in self.parameters)
        return (f"- {self.name}({params}) [{self.kind}]: {self.description} Cues: {'; '.join(self.cues[:4])}. "
                f"Do: {self.implementation}")

    @property
    def instruction(self) -> str:
        text = self.suggestion or self.implementation
        return text.split(". ", 1)[0].rstrip(".") + "."


def rule_abstract(task: TaskSpec, traces: list[Outcome], fmt: str) -> list[Concept]:
    """One concept per trace: what the Reflector says the contest's winning approach was, keyed by its situation
    (open) or as a routine named after the strategy, cued by the situation and the reasons voters gave (program)."""
    out = []
    for o in traces:
        r = rule_reflect(task.name, o, [])
        where = situation(task.name, o.anchor)
        liked, disliked = reasons(o)
        source = f"contest {o.contest}: {'won' if share(o) > 0.5 else 'lost'} {o.votes_for}-{o.votes_against}"
        if fmt == "open":
            out.append(Concept(f"lesson_{o.contest}", situation=where, suggestion=r.correct_approach, source=source))
        else:
            s = strategy(r.strategy)
            out.append(Concept(f"write_{s.name}", kind="routine",
                               parameters=[{"name": "subject", "type": o.anchor.kind}, {"name": "audience", "type": "personas"}],
                               description=f"Write the {task.message_tag} the {s.name} way.",
                               cues=[where] + (liked[:1] if share(o) > 0.5 else disliked[:1]),
                               implementation=s.advice, source=source))
    return out


def concept_from(found: dict, contest: int) -> Concept:
    """An LLM-written concept, fields coerced to the schema (unknown keys dropped)."""
    params = [p for p in found.get("parameters") or [] if isinstance(p, dict)]
    cues = [str(c) for c in found.get("cues") or [] if str(c).strip()]
    name = re.sub(r"\W+", "_", str(found.get("name") or f"concept_{contest}")).strip("_").lower() or f"concept_{contest}"
    return Concept(name, str(found.get("situation", "")), str(found.get("suggestion", "")), str(found.get("kind", "routine")),
                   [{"name": str(p.get("name")), "type": str(p.get("type"))} for p in params],
                   str(found.get("description", "")), cues, str(found.get("implementation", "")), f"contest {contest}: llm")


@dataclass
class ArcMemoConfig:
    format: str = field(default="open", metadata={"help": "open (situation -> suggestion) | program (typed routines with cues)"})
    read: str = field(default="topk", metadata={"help": "topk (similarity) | reasoning (the policy selects by name)"})
    k: int = field(default=1, metadata={"help": "concepts put into a prompt"})
    update_every: int = field(default=10, metadata={"help": "abstract new concepts every this many contests"})
    max_concepts: int = field(default=60, metadata={"help": "oldest concepts dropped beyond this"})
    roles: str = field(default="auto", metadata={"help": "auto (llm for a chat policy, rule for the slot model) | rule | llm"})
    embedder: str = field(default="auto", metadata={"help": "auto | wordllama-l2_supercat_256 | tfidf"})

    def __post_init__(self):
        for name, value, valid in (("format", self.format, FORMATS), ("read", self.read, READS), ("roles", self.roles, ROLE_PATHS)):
            if value not in valid:
                raise AgoraError(f"arcmemo {name}: {value!r}; use {', '.join(valid)}")


@capabilities.register("arcmemo")
class ArcMemoCapability:
    name = "arcmemo"

    def __init__(self, backend=None, seed: int = 0, **settings):
        self.config = ArcMemoConfig(**settings)
        self.backend = backend
        self.seed = seed
        self.embedder = load_embedder(self.config.embedder)
        self.concepts: list[Concept] = []
        self.buffer: list[Outcome] = []
        self.log = RoleLog()
        self.path = ""
        self.reads: list[dict] = []  # the last 200 go into state()
        self.read_count = 0  # all reads so far: the reasoning selector's seed
        self._selected: list[Concept] = []

    def select(self, task: TaskSpec, anchor: Anchor) -> list[Concept]:
        if not self.concepts:
            return []
        fmt, k = self.config.format, self.config.k
        where = situation(task.name, anchor)

        def llm() -> list[Concept] | str:
            listing = "\n".join(c.render(fmt) for c in self.concepts)
            names = llm_select(self.backend, where, [c.name for c in self.concepts], listing, k, self.seed + self.read_count)
            return names if isinstance(names, str) else [next(c for c in self.concepts if c.name == n) for n in names]

        def top_k() -> list[Concept]:
            sims = similarity(self.embedder, [where], [c.key(fmt) for c in self.concepts])[0]
            order = sorted(range(len(self.concepts)), key=lambda i: (-sims[i], i))  # ties: the older concept
            return [self.concepts[i] for i in order[:k]]

        reasoning = self.config.read == "reasoning" and self.path == "llm"
        return self.log.pick("selector", "llm" if reasoning else "topk", llm, top_k, rule_name="topk")

    def before_write(self, task: TaskSpec, anchor: Anchor, prompt: Prompt) -> Prompt:
        chat = not isinstance(prompt, str)
        self.path = role_path(self.config.roles, prompt, self.backend)
        self._selected = self.select(task, anchor)
        self.reads.append({"anchor": anchor.id, "concepts": [c.name for c in self._selected]})
        self.read_count += 1
        if not self._selected:
            return prompt
        if chat:
            text = "Concepts from earlier contests that may apply:\n" + "\n".join(c.render(self.config.format) for c in self._selected)
        else:
            text = " ".join(dict.fromkeys(c.instruction for c in self._selected))
        return with_instruction(prompt, text)

    def after_outcome(self, task: TaskSpec, outcome: Outcome) -> None:
        for c in self._selected:
            c.uses += 1
            c.wins += share(outcome)
        self.buffer.append(outcome)
        if len(self.buffer) >= self.config.update_every:
            self.write(task)

    def write(self, task: TaskSpec) -> None:
        """Abstract concepts from the buffered traces; a program concept with a known name gains the new cues."""

        def llm() -> list[Concept] | str:
            traces = "\n\n".join(f"Contest about {situation(task.name, o.anchor)}\n{outcome_text(o, 4)}" for o in self.buffer)
            found = llm_abstract(self.backend, traces, self.seed * 1_000_003 + self.buffer[-1].contest)
            return found if isinstance(found, str) else [concept_from(c, self.buffer[-1].contest) for c in found]

        new = self.log.pick("abstractor", self.path, llm, lambda: rule_abstract(task, self.buffer, self.config.format))
        self.buffer = []
        for concept in new:
            if self.config.format == "program":
                same = next((c for c in self.concepts if c.name == concept.name), None)
                if same is not None:
                    same.cues = list(dict.fromkeys(same.cues + concept.cues))
                    continue
            elif any(c.situation == concept.situation and c.suggestion == concept.suggestion for c in self.concepts):
                continue
            self.concepts.append(concept)
        self.concepts = self.concepts[-self.config.max_concepts:]

    def state(self) -> dict:
        return {"embedder": self.embedder.name, "config": asdict(self.config), "roles": self.path,
                "role_log": self.log.as_dict(), "concepts": [asdict(c) for c in self.concepts], "reads": self.reads[-200:],
                "read_count": self.read_count, "buffer": [o.as_dict() for o in self.buffer]}

    def restore(self, state: dict) -> None:
        """Concepts with their use counts, the traces not yet abstracted, and the read counter that seeds selection."""
        self.concepts = [Concept(**c) for c in state["concepts"]]
        self.buffer = [Outcome.from_dict(o) for o in state["buffer"]]
        self.log = RoleLog(Counter(state["role_log"]["ran"]), list(state["role_log"]["fallbacks"]))
        self.reads, self.read_count, self.path = list(state["reads"]), state["read_count"], state["roles"]
