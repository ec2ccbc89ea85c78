"""Pydantic schemas for everything in `scenarios/`: personas, anchors and task specs.

Anchors carry both structured facts (which the embedded policy's slots and the
fact-grounded probes read) and prose (which a real LLM reads). Every number in
the prose must also stand in the structured facts, so that "a number the anchor
does not contain" is well defined; `Anchor.numbers()` is that set.

An anchor kind is code (what its facts are); a task is data: a spec in `scenarios/tasks/` names the kind its
anchors are, so a new task that reuses a kind needs no code at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Split = Literal["train", "test"]

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


class AnchorFacts:
    """What every anchor answers about itself, so that no caller asks which kind it is. These defaults are those of
    plain anchor text, which states numbers and words but no structured facts; each kind overrides what it has."""

    # the slot-grammar control's vocabulary for the kind: slot type -> indexed copies (1: unindexed, `{name}`)
    SLOTS: ClassVar[dict[str, int]] = {}

    def facts(self) -> list[str]:
        """The facts as phrases a faithful message would repeat."""
        return []

    def numbers(self) -> set[float]:
        """Every number the anchor states, in its prose and its structured facts."""
        return numbers_in(self.text)

    def names(self) -> list[str]:
        """What a message calls it by when it names what it is about."""
        return [self.title]

    def quantities(self) -> list[tuple[float, str]]:
        """(value, unit) pairs stated as structured facts, which the fact probe converts to other units."""
        return []

    def slots(self) -> dict[str, list[str]]:
        """The facts by slot type, as the text that replaces the slot (see `agora.sim.tiny.slots`)."""
        return {}

    def affiliation(self) -> str | None:
        """The party a message can name to signal allegiance to a voter's own."""
        return None

    def expertise(self, task_expertise: list[str]) -> set[str]:
        """The expertise that lets a persona tell this anchor's true figures from invented ones: the task's."""
        return set(task_expertise)


def _numbers_of(texts: list[str]) -> set[float]:
    return set().union(*(numbers_in(t) for t in texts))


class Product(AnchorFacts, Strict):
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
    SLOTS: ClassVar[dict[str, int]] = {
        "name": 1, "category": 1, "price": 1, "material": 3, "feature": 5, "spec": 4, "limitation": 2,
    }

    @property
    def text(self) -> str:
        return self.description

    @property
    def title(self) -> str:
        return self.name

    def facts(self) -> list[str]:
        return self.features + self.materials + [f"{s.value:g} {s.unit}" for s in self.specs]

    def numbers(self) -> set[float]:
        found = numbers_in(self.text) | {s.value for s in self.specs} | ({self.price} if self.price else set())
        return found | _numbers_of(self.features + self.limitations + self.materials)

    def quantities(self) -> list[tuple[float, str]]:
        return [(s.value, s.unit) for s in self.specs]

    def slots(self) -> dict[str, list[str]]:
        return {
            "name": [self.name],
            "category": [self.category],
            "price": [f"${self.price:,.2f}"] if self.price else [],
            "material": self.materials,
            "feature": self.features,
            "spec": [_article(s.render()) for s in self.specs],
            "limitation": self.limitations,
        }

    def expertise(self, task_expertise: list[str]) -> set[str]:
        """The task's, and the product's own category: whoever knows the category knows what its products can do."""
        return set(task_expertise) | {self.category}

    def situation(self) -> str:
        """What a contest about it is, in a few words: the key a memory of it is retrieved by."""
        return f"selling a {self.category} product, {self.name}"


class Candidate(AnchorFacts, Strict):
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
    SLOTS: ClassVar[dict[str, int]] = {
        "name": 1, "party": 1, "office": 1, "hometown": 1, "occupation": 1, "record": 4, "position": 4,
    }

    @property
    def text(self) -> str:
        return self.biography

    @property
    def title(self) -> str:
        return self.name

    def facts(self) -> list[str]:
        return self.record + self.positions + [x for x in (self.hometown, self.occupation) if x]

    def numbers(self) -> set[float]:
        return numbers_in(self.text) | _numbers_of(self.record + self.positions)

    def names(self) -> list[str]:
        return [self.name, self.name.split()[-1]]  # a speech names a candidate by surname as often as in full

    def slots(self) -> dict[str, list[str]]:
        optional = {"office": self.office, "hometown": self.hometown, "occupation": self.occupation}
        return {
            "name": [self.name],
            "party": [self.party],
            **{k: [v] if v else [] for k, v in optional.items()},
            "record": self.record,
            "position": self.positions,
        }

    def affiliation(self) -> str | None:
        return self.party

    def situation(self) -> str:
        return f"campaigning for {self.office or 'office'} for the {self.party}"


class NewsEvent(AnchorFacts, Strict):
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
    SLOTS: ClassVar[dict[str, int]] = {
        "headline": 1, "event": 1, "place": 1, "date": 1, "figure": 4, "guidance": 3, "source": 1, "hazard": 1,
    }

    @property
    def text(self) -> str:
        return self.article

    @property
    def title(self) -> str:
        return self.headline

    def facts(self) -> list[str]:
        return self.figures + self.guidance + [x for x in (self.place, self.source) if x]

    def numbers(self) -> set[float]:
        return numbers_in(self.text) | _numbers_of(self.figures + self.guidance + [self.date or "", self.event or ""])

    def names(self) -> list[str]:
        return [self.headline] + ([self.place] if self.place else [])

    def slots(self) -> dict[str, list[str]]:
        optional = {"event": self.event, "place": self.place, "date": self.date, "source": self.source,
                    "hazard": self.hazard}
        return {
            "headline": [self.headline],
            **{k: [v] if v else [] for k, v in optional.items()},
            "figure": self.figures,
            "guidance": self.guidance,
        }

    def situation(self) -> str:
        return f"a post about {self.hazard} in {self.place}".strip()


@dataclass(frozen=True)
class AnchorText(AnchorFacts):
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
# anchor kind (a task spec's `anchor_kind`) -> its class and the list of an anchor file that holds it
ANCHOR_KINDS: dict[str, tuple[type[Anchor], str]] = {
    "product": (Product, "products"), "candidate": (Candidate, "candidates"), "event": (NewsEvent, "events"),
}


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


class CategorySpec(Strict):
    """A misalignment category a task is audited for: the probe that scores it and the judge's question."""

    probe: Slug = Field(description="the probe audits score it with (agora.sim.registry.probes): fact, populism, "
                                    "manipulation or classifier, whichever validated best on the gold sets")
    options: dict[str, Any] = Field(default_factory=dict, description="that probe's settings for this category")
    question: str = Field(min_length=10, description="the judge probe's yes/no question (the study's rubric)")
    with_source: bool = Field(default=False, description="the judge reads the anchor beside the text (fact categories)")


class TaskSpec(Strict):
    """What a task asks of the competitors and of the audience, and what it is audited for: everything that tells
    one task from another, so that a task is this file and its anchors."""

    name: Slug
    order: int = Field(description="position in lists of tasks (and in the slot-grammar control's corpus, which "
                                   "takes the tasks in turn); ties go by name")
    anchor_kind: str = Field(description="the anchors' kind: " + ", ".join(ANCHOR_KINDS))
    anchors: str = Field(description="anchor file, relative to the scenarios folder")
    corpus: Slug = Field(description="the slot-grammar control's phrase bank, corpus/<corpus>.yaml: this task's own, "
                                     "or that of a task with the same anchor kind, in whose voice the control writes")
    instruction: str = Field(description="the competitor's instruction (the study's generator prompt)")
    message_tag: str = Field(pattern=r"^[a-z_]+$", description="tag the message is written in: <pitch>…</pitch>")
    message: str = Field(description="what a chat prompt calls the message: sales pitch, campaign speech, post")
    situation: str = Field(description="the voter's situation, as in the study's task instructions")
    question: str = Field(description="the choice the voter makes between A and B")
    outcome: str = Field(description="the outcome measure users see: sales share, vote share, engagement")
    subject: str = Field(description="what the parametric audience's thoughts call the anchor: product, story")
    source_name: str = Field(description="what the judge probe calls the anchor: product description, news article")
    expertise: list[str] = Field(min_length=1, description="expertise (any one) that lets a persona spot false figures")
    spreads: bool = Field(default=False, description="after the vote each message spreads over the persona graph "
                                                     "from the personas who chose it, as a post's likes do")
    categories: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], CategorySpec] = Field(
        min_length=1, description="what an audit measures, in this order")

    @field_validator("instruction", "situation", "question")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v

    @field_validator("anchor_kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        if v not in ANCHOR_KINDS:
            raise ValueError(f"unknown anchor kind {v!r}; kinds: {', '.join(ANCHOR_KINDS)}")
        return v


def _article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}".rstrip("0").rstrip(".")
