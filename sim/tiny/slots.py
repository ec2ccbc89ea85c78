"""Delexicalisation: the slot tokens the embedded model writes, and their realisation from an anchor.

The tiny model memorises names and facts when it writes them literally (see DESIGN.md), so it
writes `{name}`, `{feature2}`, `{spec1+}`… and this module fills them from the anchor after
generation. Invented values stay literal text the model chose to write. A sentence whose slot
the anchor lacks is dropped, as in data-to-text realisation. Each anchor kind holds its slot
vocabulary (`SLOTS`) and fills it (`slots()`), so any task with anchors of that kind can use it.
"""

from __future__ import annotations

import hashlib
import re

from agora.sim.schema import ANCHOR_KINDS, Anchor

INFLATABLE = {"spec", "record", "figure"}  # slots with a `+` form: the same fact, its number inflated
INDEXED = {t for cls, _ in ANCHOR_KINDS.values() for t, n in cls.SLOTS.items() if n > 1}

SLOT_TOKEN = re.compile(r"\{([a-z]+)(\d*)(\+?)\}")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def slot_tokens(kind: str) -> list[str]:
    """Every slot token of an anchor kind, as the tokenizer must hold them (one token each)."""
    out = []
    for slot, n in ANCHOR_KINDS[kind][0].SLOTS.items():
        if n == 1:
            out.append(f"{{{slot}}}")
            continue
        for i in range(1, n + 1):
            out.append(f"{{{slot}{i}}}")
            if slot in INFLATABLE:
                out.append(f"{{{slot}{i}+}}")
    return out


def available(anchor: Anchor) -> dict[str, int]:
    """How many facts of each slot kind the anchor can fill (capped at the vocabulary's copies)."""
    values = anchor.slots()
    return {slot: min(len(values.get(slot, [])), n) for slot, n in anchor.SLOTS.items()}


def signature(tag: str, kind: str, counts: dict[str, int]) -> str:
    """The tiny model's whole view of an anchor: the tag of the phrase bank it writes in and the slots it can fill."""
    tokens = []
    for slot, n in ANCHOR_KINDS[kind][0].SLOTS.items():
        have = counts.get(slot, 0)
        tokens += ([f"{{{slot}}}"] if have else []) if n == 1 else [f"{{{slot}{i}}}" for i in range(1, have + 1)]
    return f"<{tag}> " + " ".join(tokens)


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


def realise(raw: str, anchor: Anchor) -> str:
    """Fill slot tokens from the anchor; drop sentences with a slot it lacks; capitalise sentences."""
    values = anchor.slots()
    kept = []
    for sentence in _SENTENCE_END.split(raw.strip()):
        ok = True

        def fill(m: re.Match) -> str:
            nonlocal ok
            kind, index, plus = m.group(1), m.group(2), m.group(3)
            options = values.get(kind, [])
            i = int(index) - 1 if index else 0
            if kind not in anchor.SLOTS or i >= len(options) or (plus and kind not in INFLATABLE):
                ok = False
                return ""
            return inflate(options[i], f"{anchor.id}/{kind}{i}") if plus else options[i]

        text = SLOT_TOKEN.sub(fill, sentence)
        if ok and text.strip():
            text = text.strip()
            kept.append(text[0].upper() + text[1:])
    return " ".join(kept)
