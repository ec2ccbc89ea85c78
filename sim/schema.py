"""Pydantic schemas for everything in `scenarios/`: personas, anchors and task specs.

Anchors carry both structured facts (which the embedded policy's slots and the
fact-grounded probes read) and prose (which a real LLM reads). Every number in
the prose must also stand in the structured facts, so that "a number the anchor
does not contain" is well defined; `Anchor.numbers()` is that set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Split = Literal["train", "test"]
TaskName = Literal["sales", "election", "social"]

_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")


def numbers_in(text: str) -> set[float]:
    """Numbers written in `text` ("1,200" -> 1200.0), the unit of comparison for facts."""
    return {float(m.group().replace(",", "")) for m in _NUMBER.finditer(text)}


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a scenario file must not vanish silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- personas -----------------------------------------------------------------------------


class PersonaTraits(Strict):
    """Structured traits from which the parametric audience derives a persona's tastes.

    All dispositions are on [0, 1]; `leaning` runs from -1 (left) to +1 (right).
    """

    age: int = Field(ge=16, le=100)
    occupation: str
    values: list[str] = Field(min_length=1)
    media_habits: list[str] = Field(min_length=1)
    leaning: float = Field(ge=-1.0, le=1.0)
    party: str | None = None
    partisanship: Unit = Field(description="loyalty to `party`; 0 = floating voter")
    scepticism: Unit = Field(description="distrust of hype and of unsupported claims")
    price_sensitivity: Unit
    thrill_seeking: Unit = Field(description="appetite for novelty, risk and daring")
    emotionality: Unit = Field(description="how much feelings rather than facts move them")
    anti_elite: Unit = Field(description="receptiveness to us-versus-them populist framing")
    need_for_detail: Unit = Field(description="wants specifics, numbers and facts")
    expertise: list[str] = Field(
        default_factory=list,
        description="domains (product categories, 'politics', 'health', ...) where they spot false claims",
    )


class Persona(Strict):
    id: Slug
    name: str
    gender: str | None = None
    mbti: str | None = None
    biography: str = Field(min_length=40, description="first person, read verbatim by an LLM voter")
    traits: PersonaTraits | None = Field(
        default=None, description="absent for personas loaded from the study's form; parametric mode needs it"
    )


# --- anchors ------------------------------------------------------------------------------


class Spec(Strict):
    name: str
    value: float
    unit: str

    def render(self, value: float | None = None) -> str:
        v = self.value if value is None else value
        return f"{self.name} of {_fmt(v)} {self.unit}".strip()


class Product(Strict):
    id: Slug
    split: Split
    name: str
    category: str
    price: float | None = Field(default=None, gt=0, description="USD; unknown in some source exports")
    materials: list[str] = Field(default_factory=list)
    features: list[str] = Field(default_factory=list)
    specs: list[Spec] = Field(default_factory=list)
    limitations: list[str] = Field(default_factory=list)
    description: str = Field(min_length=40)

    kind: Literal["product"] = "product"

    @property
    def text(self) -> str:
        return self.description

    @property
    def title(self) -> str:
        return self.name


class Candidate(Strict):
    id: Slug
    split: Split
    name: str
    party: str
    office: str | None = None
    hometown: str | None = None
    occupation: str | None = None
    record: list[str] = Field(default_factory=list, description="achievements, each with its number")
    positions: list[str] = Field(default_factory=list)
    biography: str = Field(min_length=40)

    kind: Literal["candidate"] = "candidate"

    @property
    def text(self) -> str:
        return self.biography

    @property
    def title(self) -> str:
        return self.name


class NewsEvent(Strict):
    id: Slug
    split: Split
    headline: str
    event: str | None = Field(default=None, description="what happened, as a clause: 'a chemical fire broke out at a warehouse'")
    place: str | None = None
    date: str | None = None
    figures: list[str] = Field(default_factory=list, description="counts and figures, each a clause")
    guidance: list[str] = Field(default_factory=list, description="official guidance to the public")
    source: str | None = Field(default=None, description="who is quoted: an agency or official")
    hazard: str | None = Field(default=None, description="what the guidance protects people from, as a noun phrase")
    article: str = Field(min_length=40)

    kind: Literal["event"] = "event"

    @property
    def text(self) -> str:
        return self.article

    @property
    def title(self) -> str:
        return self.headline


@dataclass(frozen=True)
class AnchorText:
    """Plain text of a product description, a biography or an article: the anchor of messages written outside a
    scenario (`agora judge`, `agora probes score`). It states numbers and words, not structured facts."""

    text: str
    id: str | None = None
    kind: str = "text"

    @property
    def title(self) -> str:
        """Its first line, when that is short enough to be a name or a headline."""
        first = self.text.strip().split("\n", 1)[0].strip()
        return first if len(first.split()) <= 12 else ""


Anchor = Product | Candidate | NewsEvent


def anchor_numbers(anchor: Anchor | AnchorText) -> set[float]:
    """Every number the anchor states, in its prose and its structured facts."""
    found = numbers_in(anchor.text)
    if isinstance(anchor, Product):
        found |= {s.value for s in anchor.specs} | ({anchor.price} if anchor.price else set())
        for text in anchor.features + anchor.limitations + anchor.materials:
            found |= numbers_in(text)
    elif isinstance(anchor, Candidate):
        for text in anchor.record + anchor.positions:
            found |= numbers_in(text)
    elif isinstance(anchor, NewsEvent):
        for text in anchor.figures + anchor.guidance + [anchor.date or "", anchor.event or ""]:
            found |= numbers_in(text)
    return found


class AnchorFile(Strict):
    products: list[Product] | None = None
    candidates: list[Candidate] | None = None
    events: list[NewsEvent] | None = None


# --- prompts ------------------------------------------------------------------------------


class PromptLibrary(Strict):
    """scenarios/prompts.yaml: named evaluation prompts, and inoculation prompts per task."""

    evaluation: dict[str, str] = {}
    inoculation: dict[str, dict[str, str]] = {}


# --- tasks --------------------------------------------------------------------------------


class TaskSpec(Strict):
    """What a task asks of the competitors and of the audience."""

    name: TaskName
    anchor_kind: Literal["product", "candidate", "event"]
    anchors: str = Field(description="anchor file, relative to the scenarios folder")
    instruction: str = Field(description="the competitor's instruction (the study's generator prompt)")
    message_tag: str = Field(pattern=r"^[a-z_]+$", description="tag the message is written in: <pitch>…</pitch>")
    situation: str = Field(description="the voter's situation, as in the study's task instructions")
    question: str = Field(description="the choice the voter makes between A and B")
    outcome: str = Field(description="the outcome measure users see: sales share, vote share, engagement")
    categories: list[Literal["misrepresentation", "disinformation", "populism", "unsafe_encouragement"]]
    domain: str = Field(description="the expertise a persona needs to spot false claims here")

    @field_validator("instruction", "situation", "question")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}".rstrip("0").rstrip(".")
