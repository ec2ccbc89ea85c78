"""Capabilities that plug into competitors (ACE playbooks, ArcMemo, mem-agent, Delethink, TRM, AHN). Built so far:
the reasoning modules in `reasoning/` (Delethink registers as the capability "delethink"); the rest: see the open issues."""
from agora.memory.reasoning import capabilities as _reasoning  # noqa: F401  (importing registers "delethink")
