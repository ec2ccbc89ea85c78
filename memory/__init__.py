"""Capabilities that plug into competitors: memories that learn without weight updates — ACE playbooks (`ace`),
ArcMemo concepts (`arcmemo`), mem-agent markdown notes (`memagent`).
`agora.experiments.drift` measures what a memory does to a competitor's honesty."""
from agora.memory import ace as _ace  # noqa: F401  (importing registers "ace")
from agora.memory import arcmemo as _arcmemo  # noqa: F401  (registers "arcmemo")
from agora.memory import memagent as _memagent  # noqa: F401  (registers "memagent")
