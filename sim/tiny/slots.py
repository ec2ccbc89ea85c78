"""Delexicalisation: the slot tokens the embedded model writes, and their realisation from an anchor.

The tiny model memorises names and facts when it writes them literally (see DESIGN.md), so it
writes `{name}`, `{feature2}`, `{spec1+}`… and this module fills them from the anchor after
generation. Invented values stay literal text the model chose to write. A sentence whose slot
the anchor lacks is dropped, as in data-to-text realisation.
"""

from __future__ import annotations

import hashlib
import re

from agora.sim.schema import Anchor, Candidate, NewsEvent, Product

# slot type -> how many indexed copies the vocabulary holds (1 = unindexed, e.g. {name})
SLOT_TYPES: dict[str, dict[str, int]] = {
    "sales": {"name": 1, "category": 1, "price": 1, "material": 3, "feature": 5, "spec": 4, "limitation": 2},
    "election": {"name": 1, "party": 1, "office": 1, "hometown": 1, "occupation": 1, "record": 4, "position": 4},
    "social": {
        "headline": 1, "event": 1, "place": 1, "date": 1, "figure": 4, "guidance": 3, "source": 1, "hazard": 1,
    },
}
INFLATABLE = {"spec", "record", "figure"}  # slots with a `+` form: the same fact, its number inflated
INDEXED = {t for task in SLOT_TYPES.values() for t, n in task.items() if n > 1}

SLOT_TOKEN = re.compile(r"\{([a-z]+)(\d*)(\+?)\}")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def slot_tokens(task: str) -> list[str]:
    """Every slot token of a task, as the tokenizer must hold them (one token each)."""
    out = []
    for kind, n in SLOT_TYPES[task].items():
        if n == 1:
            out.append(f"{{{kind}}}")
            continue
        for i in range(1, n + 1):
            out.append(f"{{{kind}{i}}}")
            if kind in INFLATABLE:
                out.append(f"{{{kind}{i}+}}")
    return out


def slot_values(anchor: Anchor) -> dict[str, list[str]]:
    """The anchor's facts by slot type, as the text that replaces the slot."""
    if isinstance(anchor, Product):
        return {
            "name": [anchor.name],
            "category": [anchor.category],
            "price": [f"${anchor.price:,.2f}"] if anchor.price else [],
            "material": anchor.materials,
            "feature": anchor.features,
            "spec": [_article(s.render()) for s in anchor.specs],
            "limitation": anchor.limitations,
        }
    if isinstance(anchor, Candidate):
        optional = {"office": anchor.office, "hometown": anchor.hometown, "occupation": anchor.occupation}
        return {
            "name": [anchor.name],
            "party": [anchor.party],
            **{k: [v] if v else [] for k, v in optional.items()},
            "record": anchor.record,
            "position": anchor.positions,
        }
    assert isinstance(anchor, NewsEvent)
    optional = {
        "event": anchor.event, "place": anchor.place, "date": anchor.date, "source": anchor.source,
        "hazard": anchor.hazard,
    }
    return {
        "headline": [anchor.headline],
        **{k: [v] if v else [] for k, v in optional.items()},
        "figure": anchor.figures,
        "guidance": anchor.guidance,
    }


def available(task: str, anchor: Anchor) -> dict[str, int]:
    """How many facts of each slot kind the anchor can fill (capped at the vocabulary's copies)."""
    values = slot_values(anchor)
    return {kind: min(len(values.get(kind, [])), n) for kind, n in SLOT_TYPES[task].items()}


def signature(task: str, counts: dict[str, int]) -> str:
    """The tiny model's whole view of an anchor: the task tag and the slots it can fill."""
    tokens = []
    for kind, n in SLOT_TYPES[task].items():
        have = counts.get(kind, 0)
        tokens += ([f"{{{kind}}}"] if have else []) if n == 1 else [f"{{{kind}{i}}}" for i in range(1, have + 1)]
    return f"<{task}> " + " ".join(tokens)


def inflate(text: str, key: str) -> str:
    """Inflate the first number in `text` by a factor in [1.5, 3) fixed by `key`: a distorted true fact."""
    factor = 1.5 + 1.5 * int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    match = _NUMBER.search(text)
    if not match:
        return text
    raw = match.group()
    value = float(raw.replace(",", "")) * factor
    is_pct = text[match.end() : match.end() + 1] == "%"
    if is_pct:
        value = min(value, 99.0)
    decimals = len(raw.split(".")[1]) if "." in raw else 0
    new = f"{value:,.{decimals}f}" if "," in raw or value >= 10_000 else f"{value:.{decimals}f}"
    return text[: match.start()] + new + text[match.end() :]


def realise(raw: str, task: str, anchor: Anchor) -> str:
    """Fill slot tokens from the anchor; drop sentences with a slot it lacks; capitalise sentences."""
    values = slot_values(anchor)
    kept = []
    for sentence in _SENTENCE_END.split(raw.strip()):
        ok = True

        def fill(m: re.Match) -> str:
            nonlocal ok
            kind, index, plus = m.group(1), m.group(2), m.group(3)
            options = values.get(kind, [])
            i = int(index) - 1 if index else 0
            if kind not in SLOT_TYPES[task] or i >= len(options) or (plus and kind not in INFLATABLE):
                ok = False
                return ""
            return inflate(options[i], f"{anchor.id}/{kind}{i}") if plus else options[i]

        text = SLOT_TOKEN.sub(fill, sentence)
        if ok and text.strip():
            text = text.strip()
            kept.append(text[0].upper() + text[1:])
    return " ".join(kept)


def _article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase
