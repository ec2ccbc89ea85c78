"""The phrase-bank grammar that writes the embedded model's pretraining corpus.

A document picks a *style* by weight, walks its plan of *moves* (each kept with its
probability), and draws one template per move. Generic slots (`{feature}`) take the next unused
index; a sentence needing a slot the signature lacks is dropped; `{#int:LO-HI}`-style
placeholders become literal invented numbers. The style weights are the base model's
character: training on wins can only move a mix that the corpus contains.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, model_validator

from agora.sim.scenario import read_yaml, validate
from agora.sim.schema import ANCHOR_KINDS, Slug, Strict
from agora.sim.tiny.slots import INDEXED, INFLATABLE, available, realise

Behaviour = Literal["honest", "hedge", "hype", "fabrication", "inflation", "emotion", "urgency", "populism", "unsafe"]
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_NUMBER_FORM = re.compile(r"#(int|pct|dec):(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)")


class Move(Strict):
    behaviour: Behaviour
    templates: list[str] = Field(min_length=1)


class Style(Strict):
    weight: float = Field(gt=0)
    plan: list[tuple[str, float]] = Field(min_length=1)


class PhraseBank(Strict):
    """corpus/<task>.yaml: the moves and styles of one task's messages. Its placeholders are checked against the
    slots of an anchor kind when it is loaded for one (`load_bank`)."""

    task: Slug
    moves: dict[str, Move]
    styles: dict[str, Style]

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> PhraseBank:
        for name, style in self.styles.items():
            for move, p in style.plan:
                if move not in self.moves:
                    raise ValueError(f"styles.{name}.plan: unknown move {move!r}")
                if not 0 <= p <= 1:
                    raise ValueError(f"styles.{name}.plan: probability {p} of {move!r} is not in [0, 1]")
        total = sum(s.weight for s in self.styles.values())
        if abs(total - 1) > 1e-6:
            raise ValueError(f"styles: weights sum to {total:.4f}, not 1")
        kinds = (info.context or {}).get("slots")
        for name, move in self.moves.items() if kinds is not None else ():
            for t in move.templates:
                for ph in _PLACEHOLDER.findall(t):
                    if not (_NUMBER_FORM.fullmatch(ph) or ph.rstrip("+") in kinds):
                        raise ValueError(f"moves.{name}: template {t!r} has unknown placeholder {{{ph}}}")
                    if ph.endswith("+") and ph[:-1] not in INFLATABLE:
                        raise ValueError(f"moves.{name}: {{{ph}}} cannot be inflated")
        return self


class Instructions(Strict):
    """corpus/instructions.yaml: the instructions that hindsight-label a share of the pretraining documents."""

    share: float = Field(ge=0, le=1)
    pools: dict[Literal["faithful", "embellish", "provoke"], list[str]]

    def pick(self, behaviours: frozenset[str], rng: random.Random) -> str:
        """An instruction that truthfully describes a document with these behaviours, or "" (most documents)."""
        if rng.random() >= self.share:
            return ""
        if behaviours & {"fabrication", "inflation"}:
            pool = "embellish"
        elif behaviours & {"populism", "unsafe"}:
            pool = "provoke"
        elif not behaviours & {"hype", "urgency"}:
            pool = "faithful"
        else:
            return ""
        return rng.choice(self.pools[pool])


def load_instructions(corpus_dir: Path) -> Instructions:
    path = corpus_dir / "instructions.yaml"
    return validate(Instructions, read_yaml(path), path) if path.is_file() else Instructions(share=0, pools={})


@dataclass(frozen=True)
class Document:
    raw: str  # slotted text the model learns to write
    style: str
    behaviours: frozenset[str]


def load_bank(corpus_dir: Path, task: str, kind: str) -> PhraseBank:
    """A task's phrase bank, for anchors of `kind`."""
    path = corpus_dir / f"{task}.yaml"
    return validate(PhraseBank, read_yaml(path), path, context={"slots": ANCHOR_KINDS[kind][0].SLOTS})


def write_document(bank: PhraseBank, available: dict[str, int], rng: random.Random) -> Document:
    """One message in slotted form for an anchor with `available[kind]` facts of each kind."""
    style_name = rng.choices(list(bank.styles), weights=[s.weight for s in bank.styles.values()])[0]
    used_templates: set[str] = set()
    next_index = {kind: 1 for kind in INDEXED}
    sentences, behaviours = [], set()
    for move_name, p in bank.styles[style_name].plan:
        if rng.random() >= p:
            continue
        move = bank.moves[move_name]
        fresh = [t for t in move.templates if t not in used_templates] or move.templates
        template = rng.choice(fresh)
        used_templates.add(template)
        sentence = _fill(template, available, next_index, rng)
        if sentence:
            sentences.append(sentence)
            behaviours.add(move.behaviour)
    return Document(" ".join(sentences), style_name, frozenset(behaviours))


def write_message(bank: PhraseBank, anchor, rng: random.Random) -> str:
    """A grammar-written message for `anchor`, realised: what a reader of the corpus's style would see."""
    return realise(write_document(bank, available(anchor), rng).raw, anchor)


def _fill(template: str, available: dict[str, int], next_index: dict[str, int], rng: random.Random) -> str | None:
    ok = True

    def sub(m: re.Match) -> str:
        nonlocal ok
        ph = m.group(1)
        if number := _NUMBER_FORM.fullmatch(ph):
            return _invent(number.group(1), float(number.group(2)), float(number.group(3)), rng)
        kind, plus = ph.rstrip("+"), "+" if ph.endswith("+") else ""
        if kind not in INDEXED:
            ok = ok and available.get(kind, 0) > 0
            return "{" + kind + "}"
        i = next_index[kind]
        next_index[kind] += 1
        ok = ok and i <= available.get(kind, 0)
        return "{" + f"{kind}{i}{plus}" + "}"

    text = _PLACEHOLDER.sub(sub, template)
    return text if ok else None


def _invent(form: str, lo: float, hi: float, rng: random.Random) -> str:
    if form == "dec":
        return f"{rng.uniform(lo, hi):.1f}"
    value = rng.randint(int(lo), int(hi))
    return f"{value}%" if form == "pct" else str(value)
