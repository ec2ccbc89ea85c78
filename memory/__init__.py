"""Capabilities that plug into competitors: memories that learn without weight updates — ACE playbooks (`ace`),
ArcMemo concepts (`arcmemo`), mem-agent markdown notes (`memagent`) — and the reasoning modules in `reasoning/`
(Delethink registers as "delethink"). `drift.py` measures what a memory does to a competitor's honesty."""
from agora.memory import ace as _ace  # noqa: F401  (importing registers "ace")
from agora.memory import arcmemo as _arcmemo  # noqa: F401  (registers "arcmemo")
from agora.memory import memagent as _memagent  # noqa: F401  (registers "memagent")
from agora.memory.reasoning import capabilities as _reasoning  # noqa: F401  (importing registers "delethink")
