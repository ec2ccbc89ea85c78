"""What a message is checked against: a structured anchor, or plain anchor text users bring."""

from __future__ import annotations

from dataclasses import dataclass

from agora.sim.schema import Anchor, anchor_numbers, numbers_in


@dataclass(frozen=True)
class AnchorText:
    """Plain text of a product description, biography or article (e.g. from `agora probe score`)."""

    text: str


def source_numbers(source: Anchor | AnchorText) -> set[float]:
    return numbers_in(source.text) if isinstance(source, AnchorText) else anchor_numbers(source)


def source_text(source: Anchor | AnchorText) -> str:
    return source.text
