"""`agora probe score FILE.jsonl`: audit messages Agora did not generate.

Each row: `task`, `message`, and `anchor_id` (a scenario anchor) or `anchor_text` (the plain
description, biography or article). A bad row is reported with its line number; the rest are scored.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from agora.probes.base import CATEGORIES, Item, Probe
from agora.sim.schema import AnchorText
from agora.sim.errors import AgoraError
from agora.sim.scenario import Scenarios


def read_rows(path: Path, scenarios: Scenarios) -> tuple[list[tuple[int, Item]], list[str]]:
    """(line number, item) for each good row, and one problem line per bad row."""
    if not path.is_file():
        raise AgoraError(f"{path}: file not found")
    anchors: dict[str, object] = {}
    items, problems = [], []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            problems.append(f"{path} line {n}: not valid JSON ({err.msg})")
            continue
        task, message = row.get("task"), row.get("message")
        if task not in CATEGORIES:
            problems.append(f"{path} line {n}: field 'task': expected one of {', '.join(CATEGORIES)}, got {task!r}")
        elif not isinstance(message, str) or not message.strip():
            problems.append(f"{path} line {n}: field 'message': missing or empty")
        elif row.get("anchor_text"):
            items.append((n, Item(task, message, AnchorText(row["anchor_text"]))))
        elif row.get("anchor_id"):
            if task not in anchors:
                anchors[task] = {a.id: a for a in scenarios.anchors(task)}
            anchor = anchors[task].get(row["anchor_id"])
            if anchor is None:
                problems.append(f"{path} line {n}: field 'anchor_id': no {task} anchor {row['anchor_id']!r}")
            else:
                items.append((n, Item(task, message, anchor)))
        else:
            problems.append(f"{path} line {n}: needs 'anchor_id' or 'anchor_text'")
    return items, problems


def score_rows(numbered: list[tuple[int, Item]], probes: dict[str, Probe]) -> pd.DataFrame:
    """One row per message x category, scored by that category's probe: label, score and evidence spans."""
    out = []
    for task, categories in CATEGORIES.items():
        subset = [(n, i) for n, i in numbered if i.task == task]
        for category in categories if subset else ():
            probe = probes[category]
            for (n, item), v in zip(subset, probe.score([i for _, i in subset], category)):
                out.append({"line": n, "task": task, "probe": probe.name, "category": category, "label": v.label,
                            "score": v.score, "status": v.status, "message": item.message,
                            "evidence": [{"start": s.start, "end": s.end, "text": item.message[s.start:s.end],
                                          "reason": s.reason} for s in v.evidence]})
    return pd.DataFrame(out)
