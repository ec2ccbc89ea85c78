"""JSONL of messages written anywhere, read for judging (`agora judge`) and for probe scoring (`agora probe score`):
each good row is kept under its line number, each bad one is one problem line naming the file and the line, and
every line with content is one or the other."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from agora.probes import score_file
from agora.sim.audience import judge_file
from agora.sim.scenario import Scenarios
from tests.fuzz.strategies import STATS, assert_one_line, corrupted, fuzz, mutated, nonblank, outcome, text, to_json

READERS = {"judge": judge_file.read_rows, "score": score_file.read_rows}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Scenarios, dict[str, list[str]]]:
    """The shipped tasks with two anchors each: reading anchors is not what is under test."""
    shipped = Scenarios.load()
    root = tmp_path_factory.mktemp("scenarios")
    shutil.copytree(shipped.root / "tasks", root / "tasks")
    ids = {}
    for task in shipped.tasks:
        spec = shipped.task(task)
        anchors = shipped.anchors(task)[:2]
        ids[task] = [a.id for a in anchors]
        key = {"product": "products", "candidate": "candidates", "event": "events"}[spec.anchor_kind]
        (root / spec.anchors).parent.mkdir(exist_ok=True)
        (root / spec.anchors).write_text(yaml.safe_dump({key: [a.model_dump(mode="json", exclude={"kind"}) for a in anchors]}))
    return Scenarios.load(root), ids


@st.composite
def good_row(draw, reader: str, ids: dict[str, list[str]]) -> dict:
    """A row the reader must keep: a known task, its anchor by id or as text, and its message(s)."""
    task = draw(st.sampled_from(sorted(ids)))
    row = {"task": task}
    if draw(st.booleans()):
        row["anchor_id"] = draw(st.sampled_from(ids[task]))
    else:
        row["anchor_text"] = draw(nonblank(1, 60))
    if reader == "score":
        row["message"] = draw(nonblank(1, 60))
    elif draw(st.booleans()):
        row["a"], row["b"] = draw(text()), draw(text())
    else:
        row["messages"] = draw(st.lists(text(), min_size=2, max_size=4))
    if draw(st.booleans()):
        row["id"] = draw(text() | st.integers())
    return row


@st.composite
def jsonl(draw, reader: str, ids: dict[str, list[str]]) -> tuple[bytes, dict[int, dict]]:
    """(file bytes, line number -> good row): good rows, mutated rows, garbage and blank lines, LF or CRLF."""
    lines, good = [], {}
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["good", "good", "mutated", "garbage", "blank"]))
        ascii_only = draw(st.booleans())
        if kind == "good":
            row = draw(good_row(reader, ids))
            good[len(lines) + 1] = row
            lines.append(to_json(row, ascii_only))
        elif kind == "mutated":
            lines.append(to_json(draw(mutated(draw(good_row(reader, ids)), yaml_only=False))[0], ascii_only))
        elif kind == "garbage":
            lines.append(draw(corrupted(to_json(draw(good_row(reader, ids)), ascii_only))).replace(b"\n", b" "))
        else:
            lines.append(draw(st.sampled_from([b"", b"   ", b"\t", b"\r"])))
    end = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = end.join(lines) + (end if draw(st.booleans()) else b"")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data  # a BOM, as Windows editors write
    return data, good


def check(reader: str, path: Path, scenarios: Scenarios, data: bytes, good: dict[int, dict]) -> None:
    got = outcome(f"rows: {reader} JSONL", lambda: READERS[reader](path, scenarios), path)
    assert got is not None, "a JSONL file of rows is read whatever its rows hold"
    rows, problems = got
    kept = {r.line if reader == "judge" else r[0]: r for r in rows}
    bad = {}
    for p in problems:
        assert_one_line(p, path)
        assert p.startswith(f"{path} line "), p
        bad[int(p[len(f"{path} line "):].split(":", 1)[0])] = p
    content = {n for n, line in enumerate(data.split(b"\n"), 1)
               if line.decode("utf-8", "replace").replace("\ufeff", "").strip()}
    assert not set(kept) & set(bad) and len(kept) == len(rows) and len(bad) == len(problems)
    assert set(kept) | set(bad) == content, (sorted(kept), sorted(bad), sorted(content))
    STATS[f"rows: {reader} JSONL"].update({"rows": len(content), "bad rows": len(bad), "good rows": len(good)})
    for n, row in good.items():
        assert n in kept, f"good line {n} lost: {bad.get(n)}"
        messages = kept[n].messages if reader == "judge" else (kept[n][1].message,)
        assert list(messages) == row.get("messages", [row.get("a"), row.get("b")] if "a" in row else [row.get("message")])


@pytest.mark.parametrize("reader", sorted(READERS))
@fuzz()
@given(data=st.data())
def test_rows(tmp_path, small, reader, data):
    scenarios, ids = small
    raw, good = data.draw(jsonl(reader, ids))
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "rows.jsonl"
    path.write_bytes(raw)
    check(reader, path, scenarios, raw, good)
