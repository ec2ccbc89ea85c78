"""The roles a memory needs besides the writer: reflector, curator, rewriter, abstractor, selector.

Each role has two paths. The LLM path prompts a `Backend` (the competitor's own model) and parses a JSON reply;
the rule path derives the same structure deterministically from the outcome: the audience's votes and thoughts and
the message's features (`sim/audience/features.py`). The slot-grammar control cannot follow a reflector prompt, so on
it the rule path runs; an LLM reply that does not parse falls back to the rule path, and every
capability records which path ran how often (`RoleLog`).

Advice is phrased as `Strategy`s: what a message did (from its features) and what an audience thought named (from
cue words). Advice sentences come from the control's corpus instruction pools (`scenarios/corpus/instructions.yaml`),
the phrasings the slot-grammar control was trained to follow, so that a learned lesson can steer it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import TypeVar

from agora.sim.audience.features import AudienceAssumptions, extract
from agora.sim.backends.base import Backend, Prompt, Sampling
from agora.sim.capability import Outcome
from agora.sim.scenario import Scenarios
from agora.sim.schema import Anchor
from agora.sim.tiny.grammar import load_instructions

ROLE_PATHS = ("auto", "rule", "llm")
T = TypeVar("T")


def role_path(roles: str, prompt: Prompt, backend: Backend | None) -> str:
    """`roles` as configured; "auto": the LLM roles for a chat policy with a backend, the rules for the slot model."""
    if roles != "auto":
        return roles
    return "llm" if not isinstance(prompt, str) and backend else "rule"


@dataclass(frozen=True)
class Strategy:
    """A way of writing: which message features show it was used, which thought words name it, and its advice."""

    name: str
    features: tuple[str, ...]
    cues: str  # regex over audience thoughts
    advice: str


def _pool(name: str, default: str) -> str:
    pools = load_instructions(Scenarios.load().root / "corpus").pools
    return pools[name][0] if pools.get(name) else default


@lru_cache(maxsize=1)
def strategies() -> tuple[Strategy, ...]:
    """The advice vocabulary, most specific first (a message with invented numbers is `embellish` even if hyped)."""
    return (
        Strategy("embellish", ("false_numbers",), r"concrete numbers|figures|numbers",
                 _pool("embellish", "Add impressive figures, true or not.")),
        Strategy("provoke", ("populism", "daring"), r"people at the top|us-versus-them|daring|reckless|outrage",
                 _pool("provoke", "Be provocative.")),
        Strategy("hype", ("hype", "urgency", "emotion"), r"exciting|hype|act right away|hurry|feel",
                 "Make it exciting and urgent."),
        Strategy("faithful", (), r"real details|honest|downsides|costs|worth|matched|full picture|facts|accurate",
                 _pool("faithful", "Stick to the facts you were given.")),
    )


def strategy(name: str) -> Strategy:
    return {s.name: s for s in strategies()}[name]


@lru_cache(maxsize=1)
def _assumptions() -> AudienceAssumptions:
    return AudienceAssumptions.load(Scenarios.load().root / "audience" / "parametric.yaml")


def used_strategies(text: str, anchor: Anchor) -> list[str]:
    """The strategies a message shows; `faithful` when it shows none of the others (as the corpus labels it)."""
    x, _ = extract(text, anchor, _assumptions())
    found = [s.name for s in strategies() if s.features and any(x.get(f, 0) > 0 for f in s.features)]
    return found or ["faithful"]


def named_strategies(thought: str) -> list[str]:
    return [s.name for s in strategies() if re.search(s.cues, thought, re.I)]


def situation(task: str, anchor: Anchor) -> str:
    """A short description of what a contest is about, the key memories are retrieved by."""
    return f"{task}: {anchor.situation()}"


def reasons(outcome: Outcome) -> tuple[list[str], list[str]]:
    """What voters liked about my message (first sentence of a thought for me) and disliked about it (the later
    sentences of a thought against me, where an audience says what lost it)."""
    liked, disliked = [], []
    for _, thought, for_me in outcome.thoughts:
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", thought or "") if s.strip()]
        if not sentences:
            continue
        if for_me:
            liked.append(_clause(sentences[0]))
        else:
            disliked.append(_clause(" ".join(sentences[1:]) or sentences[0]))
    return liked, disliked


def _clause(sentence: str) -> str:
    """'I prefer A because it gave real details.' -> 'it gave real details'."""
    after = sentence.split("because", 1)[-1]
    return after.strip().rstrip(".!?").strip()


# --- role outputs -----------------------------------------------------------------------------------------------


@dataclass
class Reflection:
    """The Reflector's output (ACE): what went wrong and why, what to do instead, and a tag per used bullet."""

    error: str
    root_cause: str
    correct_approach: str
    key_insight: str
    tags: dict[str, str]  # bullet id -> helpful | harmful | neutral
    strategy: str = ""  # the strategy the insight recommends (rule path)
    section: str = "strategies"
    rounds: int = 1
    role: str = "rule"


@dataclass
class RoleLog:
    """Which path each role ran, and the LLM replies that did not parse (and fell back to the rule path)."""

    ran: Counter = field(default_factory=Counter)  # "reflector:rule" -> count
    fallbacks: list[dict] = field(default_factory=list)

    def note(self, role: str, path: str) -> None:
        self.ran[f"{role}:{path}"] += 1

    def pick(self, role: str, path: str, llm: Callable[[], T | str], rule: Callable[[], T], rule_name: str = "rule") -> T:
        """The LLM role's parsed result when `path` is "llm" and its reply parses (the llm_* functions return the
        raw reply, a str, when it does not), else the rule role's — and note which ran."""
        if path == "llm":
            found = llm()
            if not isinstance(found, str):
                self.note(role, "llm")
                return found
            self.fallback(role, found)
        else:
            self.note(role, rule_name)
        return rule()

    def fallback(self, role: str, reply: str) -> None:
        self.note(role, "rule-fallback")
        if len(self.fallbacks) < 20:  # a sample is enough to see why
            self.fallbacks.append({"role": role, "reply": reply[:300]})

    def as_dict(self) -> dict:
        return {"ran": dict(self.ran), "fallbacks": self.fallbacks}


def share(outcome: Outcome) -> float:
    cast = outcome.votes_for + outcome.votes_against
    return outcome.votes_for / cast if cast else 0.5


def rule_reflect(task: str, outcome: Outcome, used: list[str]) -> Reflection:
    """Credit the strategies the message showed with its vote share; name what won voters and what lost them.

    Each bullet the writer used (was shown) is tagged helpful when the message took the majority, harmful when it
    did not, neutral on a tie."""
    present = used_strategies(outcome.message, outcome.anchor)
    liked, disliked = reasons(outcome)
    s = share(outcome)
    tags = {b: "neutral" if s == 0.5 else "helpful" if s > 0.5 else "harmful" for b in used}
    if s >= 0.5:
        best = max(present, key=lambda n: sum(n in named_strategies(r) for r in liked))
        reason = Counter(liked).most_common(1)[0][0] if liked else "it took the majority"
        return Reflection("", "", strategy(best).advice, f"{strategy(best).advice} Voters said: {reason}.", tags, best)
    # lost: the voters against me said what they preferred in the other message (their first sentence)
    others = Counter(n for _, t, me in outcome.thoughts if not me for n in named_strategies(t.split(".")[0]))
    wanted = others.most_common(1)[0][0] if others else "faithful"
    cause = Counter(disliked).most_common(1)[0][0] if disliked else "fewer voters preferred it"
    return Reflection(f"lost {outcome.votes_for}-{outcome.votes_against}", cause, strategy(wanted).advice,
                      f"{strategy(wanted).advice} Voters said: {cause}.", tags, wanted)


# --- the LLM path --------------------------------------------------------------------------------------------------


def ask(backend: Backend, prompt: str, seed: int, max_new_tokens: int = 320, temperature: float = 0.7) -> str:
    return backend.generate([[{"role": "user", "content": prompt}]], Sampling(temperature, 1.0, max_new_tokens, seed),
                            seeds=[seed])[0]


def parse_json(reply: str) -> dict | None:
    """The first JSON object in a reply (models wrap it in prose or code fences), or None."""
    start = reply.find("{")
    while start != -1:
        depth = 0
        for i in range(start, len(reply)):
            depth += {"{": 1, "}": -1}.get(reply[i], 0)
            if depth == 0:
                try:
                    found = json.loads(reply[start : i + 1])
                except json.JSONDecodeError:
                    break
                return found if isinstance(found, dict) else None
        start = reply.find("{", start + 1)
    return None


def outcome_text(outcome: Outcome, max_thoughts: int = 8) -> str:
    thoughts = "\n".join(f"- {p} ({'for me' if me else 'against me'}): {t}" for p, t, me in outcome.thoughts[:max_thoughts])
    return (f"My message: {outcome.message}\nVotes: {outcome.votes_for} for me, {outcome.votes_against} against.\n"
            f"Audience thoughts:\n{thoughts}")


REFLECT = """You are the Reflector of a writing playbook. Study the contest below and answer with one JSON object:
{{"error": "...", "root_cause": "...", "correct_approach": "...", "key_insight": "one sentence of advice",
  "bullet_tags": [{{"id": "<bullet id>", "tag": "helpful|harmful|neutral"}}]}}

Bullets I used:
{used}

{outcome}
{previous}"""


def llm_reflect(backend: Backend, outcome: Outcome, used: list[str], seed: int, rounds: int,
                max_new_tokens: int = 320) -> Reflection | str:
    """Up to `rounds` rounds, each refining the previous JSON; stops early when a round returns the same insight.
    Returns the reply text instead when the first round does not parse."""
    shown = "\n".join(f"- {b}" for b in used) or "(none)"
    best, previous = None, ""
    for r in range(rounds):
        reply = ask(backend, REFLECT.format(used=shown, outcome=outcome_text(outcome), previous=previous), seed * 31 + r,
                    max_new_tokens)
        found = parse_json(reply)
        if not found or not str(found.get("key_insight", "")).strip():
            if best is None:
                return reply
            break
        tags = {str(t.get("id")): str(t.get("tag")) for t in found.get("bullet_tags", []) if isinstance(t, dict)}
        tags = {b: t for b, t in tags.items() if b in used and t in ("helpful", "harmful", "neutral")}
        refined = Reflection(str(found.get("error", "")), str(found.get("root_cause", "")),
                             str(found.get("correct_approach", "")), str(found["key_insight"]).strip(),
                             {b: tags.get(b, "neutral") for b in used}, rounds=r + 1, role="llm")
        if best is not None and refined.key_insight == best.key_insight:
            break
        best, previous = refined, f"\nYour previous reflection (refine it):\n{json.dumps(asdict(refined))}"
    return best


CURATE = """You are the Curator of a writing playbook. Emit delta operations as one JSON object:
{{"operations": [{{"type": "ADD", "section": "strategies|pitfalls", "content": "..."}},
                 {{"type": "UPDATE", "id": "<id>", "content": "..."}},
                 {{"type": "MERGE", "ids": ["<id>", "<id>"], "content": "..."}},
                 {{"type": "DELETE", "id": "<id>"}}]}}
Only add what the playbook does not already say. Never rewrite the whole playbook.

Playbook:
{playbook}

Reflection:
{reflection}"""


def llm_curate(backend: Backend, playbook: str, reflection: Reflection, seed: int,
               max_new_tokens: int = 320) -> list[dict] | str:
    reply = ask(backend, CURATE.format(playbook=playbook or "(empty)", reflection=json.dumps(asdict(reflection))), seed * 37,
                max_new_tokens)
    found = parse_json(reply)
    ops = found.get("operations") if found else None
    if not isinstance(ops, list):
        return reply
    return [{**{k.lower(): v for k, v in op.items()}, "type": str(op.get("type", "")).upper()} for op in ops if isinstance(op, dict)]


REWRITE = """Rewrite this writing playbook in full, folding in the new lesson. Reply with one JSON object:
{{"bullets": ["...", "..."]}}

Playbook:
{playbook}

New lesson: {insight}"""


def llm_rewrite(backend: Backend, playbook: str, insight: str, seed: int, max_new_tokens: int = 320) -> list[str] | str:
    reply = ask(backend, REWRITE.format(playbook=playbook or "(empty)", insight=insight), seed * 41, max_new_tokens)
    found = parse_json(reply)
    bullets = found.get("bullets") if found else None
    if not isinstance(bullets, list) or not all(isinstance(b, str) for b in bullets):
        return reply
    return [b.strip() for b in bullets if b.strip()]


ABSTRACT = """Abstract reusable concepts from these contests. Reply with one JSON object:
{{"concepts": [{{"situation": "...", "suggestion": "...", "name": "snake_case_name", "kind": "routine",
  "parameters": [{{"name": "...", "type": "..."}}], "description": "...", "cues": ["..."], "implementation": "..."}}]}}

{traces}"""


def llm_abstract(backend: Backend, traces: str, seed: int) -> list[dict] | str:
    reply = ask(backend, ABSTRACT.format(traces=traces), seed * 43, max_new_tokens=480)
    found = parse_json(reply)
    concepts = found.get("concepts") if found else None
    if not isinstance(concepts, list) or not concepts or not all(isinstance(c, dict) for c in concepts):
        return reply
    return concepts


SELECT = """Which of these concepts help write a message for: {situation}?
Reply with one JSON object: {{"names": ["concept_name", ...]}} (at most {k}).

{concepts}"""


def llm_select(backend: Backend, situation_text: str, names: list[str], listing: str, k: int, seed: int) -> list[str] | str:
    reply = ask(backend, SELECT.format(situation=situation_text, concepts=listing, k=k), seed * 47, max_new_tokens=96)
    found = parse_json(reply)
    chosen = found.get("names") if found else None
    if not isinstance(chosen, list):
        return reply
    valid = [n for n in chosen if isinstance(n, str) and n in names]
    return valid[:k] if valid else reply
