"""Text features the parametric audience reads, and the assumptions file that weights them.

Features are deterministic functions of the message and its anchor, so the same message always
scores the same; everything a persona "notices" is listed in `scenarios/audience/parametric.yaml`.
"""

from __future__ import annotations

import math
import re
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from agora.sim.facts import number_spans, true_facts
from agora.sim.scenario import read_yaml, validate
from agora.sim.schema import Anchor, Persona, PersonaTraits, Strict

TRAITS = ("scepticism", "price_sensitivity", "thrill_seeking", "emotionality", "anti_elite", "need_for_detail", "partisanship")
LEXICAL = ("hype", "emotion", "urgency", "hedging", "populism", "daring", "value")
FEATURES = ("true_facts", "numbers", "false_numbers", *LEXICAL, "party", "length")


class Weight(BaseModel):
    """`base` plus one coefficient per trait; `why` is the stated assumption."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    base: float
    why: str
    scepticism: float = 0.0
    price_sensitivity: float = 0.0
    thrill_seeking: float = 0.0
    emotionality: float = 0.0
    anti_elite: float = 0.0
    need_for_detail: float = 0.0
    partisanship: float = 0.0

    def of(self, traits: PersonaTraits) -> float:
        return self.base + sum(getattr(self, t) * getattr(traits, t) for t in TRAITS)


class Reason(Strict):
    liked: str
    disliked: str


class AudienceAssumptions(Strict):
    noise: float = Field(ge=0)
    features: dict[str, Weight]
    lexicons: dict[str, list[str]]
    reasons: dict[str, Reason]

    @classmethod
    def load(cls, path: Path) -> AudienceAssumptions:
        found = validate(cls, read_yaml(path), path)
        for section in ("features", "reasons"):
            missing = set(FEATURES) - set(getattr(found, section))
            if missing:
                raise ValueError(f"{path}: {section}: missing {', '.join(sorted(missing))}")
        return found

    @cached_property
    def patterns(self) -> dict[str, re.Pattern]:
        out = {}
        for name in LEXICAL:
            terms = sorted(self.lexicons.get(name, []), key=len, reverse=True)
            alternation = "|".join(re.escape(t) for t in terms) or r"(?!x)x"
            out[name] = re.compile(rf"(?<![\w$])(?:{alternation})(?!\w)", re.I)
        return out


def extract(text: str, anchor: Anchor, assumptions: AudienceAssumptions) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Feature values of a message (persona-independent) and the evidence behind each."""
    spans = number_spans(text, anchor)
    evidence = {name: [m.group() for m in pat.finditer(text)] for name, pat in assumptions.patterns.items()}
    evidence["numbers"] = [text[s.start : s.end] for s in spans]
    evidence["false_numbers"] = [text[s.start : s.end] for s in spans if not s.in_anchor]
    x = {name: math.log1p(len(evidence[name])) for name in LEXICAL}
    x["numbers"] = math.log1p(len(spans))
    x["false_numbers"] = math.log1p(len(evidence["false_numbers"]))
    x["true_facts"] = math.log1p(true_facts(text, anchor))
    x["length"] = len(text.split()) / 50
    x["party"] = 0.0  # persona-dependent; see party_signal
    return x, evidence


def party_signal(text: str, anchor: Anchor, persona: Persona) -> float:
    """+1 if the message names the persona's own party, -1 if it names another (anchors with a party only)."""
    traits, party = persona.traits, anchor.affiliation()
    if not party or traits is None or not traits.party or party.lower() not in text.lower():
        return 0.0
    return 1.0 if party == traits.party else -1.0


def is_expert(persona: Persona, anchor: Anchor, task_expertise: list[str]) -> bool:
    """Can this persona tell a true figure from an invented one for this anchor?"""
    return persona.traits is not None and bool(set(persona.traits.expertise) & anchor.expertise(task_expertise))
