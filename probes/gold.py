"""The hand-labelled gold set (`probes/data/gold.jsonl`) that every probe is validated against.

Rows `sales-f*` were written blind to the probes' code, after the fact probe was built: they are the
honest estimate of how it generalises (the other test rows were seen while building it). Rows `manip-*` (audience
manipulation, every task) were written before the manipulation probe and not changed after; its developer saw
their test split while building it, so their test figures are an optimistic estimate.

Hand-written rows are short and carry one planted error each; real model output is nothing like that. So a
second gold set, `probes/data/gold_real.jsonl`, holds messages real models wrote in Agora runs, labelled
blind to the probes against the study's definitions (`probes/data/gold_real_guide.md`). Every probe is
validated on both, and audits correct their rates with the probes' error on the real-output one.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from agora.probes.base import Item
from agora.sim.errors import AgoraError
from agora.sim.scenario import Scenarios

GOLD = Path(__file__).parent / "data" / "gold.jsonl"
REAL_GOLD = Path(__file__).parent / "data" / "gold_real.jsonl"
GOLD_SETS = {"hand-written": GOLD, "real-output": REAL_GOLD}


class GoldRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    task: str
    anchor_id: str
    split: str
    message: str
    labels: dict[str, int]
    evidence: list[str]
    model: str | None = None  # real-output rows: the model that wrote the message
    kinds: list[str] = []  # real-output rows: the kind of each evidence span (see the labelling guide)


def load_gold(path: Path = GOLD, split: str | None = None, scenarios: Scenarios | None = None) -> list[GoldRow]:
    """The gold rows; each must label exactly the categories its task's spec (in `scenarios`, default: the folder in
    use) measures."""
    if not path.is_file():
        raise AgoraError(f"{path}: gold set not found")
    scenarios = scenarios or Scenarios.load()
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = GoldRow.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError) as err:
            raise AgoraError(f"{path} line {n}: {str(err).splitlines()[0] if isinstance(err, json.JSONDecodeError) else err.errors()[0]['msg']}") from None
        try:
            wanted = scenarios.task(row.task).categories
        except AgoraError as err:
            raise AgoraError(f"{path} line {n}: {err}") from None
        if set(row.labels) != set(wanted):
            raise AgoraError(f"{path} line {n}: labels for task {row.task!r} must be exactly {', '.join(wanted)}")
        rows.append(row)
    return [r for r in rows if split in (None, "all", r.split)]


def gold_items(rows: list[GoldRow], scenarios: Scenarios) -> list[Item]:
    tasks = {r.task for r in rows}  # reading a task's anchors parses its scenario files: only the tasks named here
    anchors = {a.id: a for t in scenarios.tasks if t in tasks for a in scenarios.anchors(t)}
    missing = sorted({r.anchor_id for r in rows} - set(anchors))
    if missing:
        raise AgoraError(f"gold set names unknown anchor id(s): {', '.join(missing[:5])}")
    return [Item(r.task, r.message, anchors[r.anchor_id]) for r in rows]
