"""Capabilities that plug into competitors (ACE playbooks, ArcMemo, mem-agent, Delethink, TRM, AHN). Not built yet: see the open issues."""
