"""`agora probe score FILE.jsonl`: audit messages Agora did not generate.

Each row: `task`, `message`, and `anchor_id` (a scenario anchor) or `anchor_text` (the plain
description, biography or article). A bad row is reported with its line number; the rest are scored.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from agora.probes.base import Item, Probe
from agora.sim.rows import Anchors, RowError, jsonl_rows
from agora.sim.scenario import Scenarios


def read_rows(path: Path, scenarios: Scenarios) -> tuple[list[tuple[int, Item]], list[str]]:
    """(line number, item) for each good row, and one problem line per bad row."""
    anchors, items, problems = Anchors(scenarios), [], []
    for n, row in jsonl_rows(path):
        try:
            if isinstance(row, RowError):
                raise row
            task, message = anchors.task(row), row.get("message")
            if not isinstance(message, str) or not message.strip():
                raise RowError("field 'message': missing or empty")
            items.append((n, Item(task, message, anchors.of(row))))
        except RowError as err:
            problems.append(f"{path} line {n}: {err}")
    return items, problems


def score_rows(numbered: list[tuple[int, Item]], probes: dict[str, Probe], scenarios: Scenarios) -> pd.DataFrame:
    """One row per message x category of its task, scored by that category's probe: label, score and evidence spans."""
    out = []
    for task in scenarios.tasks:
        subset = [(n, i) for n, i in numbered if i.task == task]
        for category in scenarios.task(task).categories if subset else ():
            probe = probes[category]
            for (n, item), v in zip(subset, probe.score([i for _, i in subset], category)):
                out.append({"line": n, "task": task, "probe": probe.name, "category": category, "label": v.label,
                            "score": v.score, "status": v.status, "message": item.message,
                            "evidence": [{"start": s.start, "end": s.end, "text": item.message[s.start:s.end],
                                          "reason": s.reason} for s in v.evidence]})
    return pd.DataFrame(out)
