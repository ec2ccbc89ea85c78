"""JSONL rows of messages written anywhere, each tied to its anchor: a scenario anchor by id, or plain anchor text.

Shared by `agora judge` and `agora probes score`: a bad row is one problem line naming the file, the line and the
field, and the other rows go on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from agora.sim.errors import AgoraError
from agora.sim.scenario import Scenarios, one_line, quoted
from agora.sim.schema import Anchor, AnchorText
from agora.sim.storable import storable_value


class RowError(ValueError):
    """One bad row: its message names the field."""


def jsonl_rows(path: Path) -> Iterator[tuple[int, dict | RowError]]:
    """(line number, row) for each non-blank line; a line that is not a JSON object comes as a RowError. Lines are
    split at "\n" only, as JSONL is, so a U+2028 or a form feed inside a message does not shift the line numbers; a
    line that is not UTF-8 is a bad row, not a bad file."""
    if not path.is_file():
        raise AgoraError(f"{path}: file not found")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise AgoraError(f"{path}: cannot be read ({err.strerror})") from None
    for n, raw in enumerate(data.split(b"\n"), 1):
        try:
            line = raw.decode("utf-8-sig" if n == 1 else "utf-8")  # a BOM, as some editors write, opens line 1
        except UnicodeDecodeError as err:
            yield n, RowError(f"not UTF-8 text (byte {err.start} of the line)")
            continue
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            yield n, RowError(f"not valid JSON ({err.msg})")
            continue
        except (ValueError, RecursionError) as err:  # an integer of more than 4300 digits; nesting past the stack
            yield n, RowError("not valid JSON (" + ("nested too deeply" if isinstance(err, RecursionError)
                                                    else one_line(str(err), 120)) + ")")
            continue
        yield n, storable_value(row) if isinstance(row, dict) else RowError("not a JSON object")


class Anchors:
    """Looks rows' anchors up, loading each task's scenario anchors once."""

    def __init__(self, scenarios: Scenarios):
        self.scenarios = scenarios
        self._by_task: dict[str, dict[str, Anchor]] = {}

    def task(self, row: dict) -> str:
        task = row.get("task")
        if task not in (tasks := self.scenarios.tasks):
            raise RowError(f"field 'task': expected one of {', '.join(tasks)}, got {quoted(task)}")
        return task

    def of(self, row: dict) -> Anchor | AnchorText:
        task = self.task(row)
        if isinstance(row.get("anchor_text"), str) and row["anchor_text"].strip():
            return AnchorText(row["anchor_text"])
        if not row.get("anchor_id"):
            raise RowError("needs 'anchor_id' or 'anchor_text'")
        if not isinstance(row["anchor_id"], str):
            raise RowError(f"field 'anchor_id': expected an anchor id (a string), got {quoted(row['anchor_id'])}")
        if task not in self._by_task:
            self._by_task[task] = {a.id: a for a in self.scenarios.anchors(task)}
        anchor = self._by_task[task].get(row["anchor_id"])
        if anchor is None:
            raise RowError(f"field 'anchor_id': no {task} anchor {quoted(row['anchor_id'])}")
        return anchor
