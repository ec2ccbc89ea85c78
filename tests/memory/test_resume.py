"""Capabilities come back on resume: a run with memory (or Delethink's traces) SIGKILLed mid-contest and resumed
equals an uninterrupted one, row for row, state for state and call for call; each capability's `restore` continues
exactly where its `state()` left off."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from agora.memory.ace import ACECapability
from agora.memory.arcmemo import ArcMemoCapability
from agora.memory.memagent import MemAgentCapability
from agora.sim.config import RunConfig
from agora.sim.errors import AgoraError
from agora.sim.runner import resume_run, start_run
from agora.sim.store import TABLES, RunStore

from .conftest import outcome

CAPABILITIES = ["ace", "arcmemo", "memagent"]

# `agora run`, SIGKILLed by itself just before writing the commit mark of contest 3: its messages, judgments and
# capability state are on disk, and mem-agent's notes already hold contest 3 — all of it must be undone on resume.
KILLED_AT_COMMIT = """
import os, signal
from agora.sim import store
from agora.cli.main import app

write = store.atomic_parquet

def atomic_parquet(df, path):
    if path.name == "contests-000003.parquet":
        os.kill(os.getpid(), signal.SIGKILL)
    write(df, path)

store.atomic_parquet = atomic_parquet
app()
"""


def config(small_tiny) -> RunConfig:
    """Memory for both competitors; B also thinks with Delethink (on A too it would only cost time)."""
    return RunConfig(task="sales", contests=5, seed=7, policy="tiny", tiny=small_tiny, invalid="judge", cache=False,
                     capabilities={"A": CAPABILITIES, "B": [*CAPABILITIES, "delethink"]},
                     capability_settings={"arcmemo": {"update_every": 2}})


def without_folders(states: dict) -> dict:
    """mem-agent's scratch folder is a fresh temporary path in each process; everything else must be equal."""
    return {w: {c: {k: v for k, v in s.items() if k != "folder"} for c, s in caps.items()} for w, caps in states.items()}


def test_a_run_with_memory_and_delethink_killed_mid_contest_resumes_to_the_uninterrupted_run(tmp_path, small_tiny,
                                                                                             tiny_path):
    cfg = config(small_tiny)
    cfg.save(tmp_path / "run.yaml")
    killed = RunStore(tmp_path / "killed")
    (tmp_path / "tmp").mkdir()  # where the killed run's scratch memory is left behind
    proc = subprocess.run([sys.executable, "-c", KILLED_AT_COMMIT, "run", "--config", str(tmp_path / "run.yaml"),
                           "--store", str(killed.root)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TMPDIR": str(tmp_path / "tmp")})
    assert proc.returncode == -9, proc.stdout + proc.stderr
    [run_id] = killed.list()["run_id"]
    half = killed.open(run_id)
    assert half.done_contests() == [0, 1, 2] and killed.row(run_id).status == "interrupted"
    assert sorted(p.name for p in half.parts.glob("capabilities-*")) == ["capabilities-000002.json", "capabilities-000003.json"]
    at_kill = json.loads((half.parts / "capabilities-000002.json").read_text())["B"]  # committed with contest 2
    assert at_kill["ace"]["bullets"] and at_kill["arcmemo"]["concepts"] and at_kill["memagent"]["memory"]["files"]
    assert at_kill["arcmemo"]["buffer"] and at_kill["arcmemo"]["read_count"] == len(at_kill["memagent"]["reads"]) == 3
    assert len(at_kill["delethink"]["traces"]) == 3  # their count seeds the next thought, contest 3's on resume

    resumed = resume_run(run_id, killed)
    whole = start_run(cfg, RunStore(tmp_path / "whole"))
    for t in TABLES:
        pd.testing.assert_frame_equal(resumed.table(t), whole.table(t))
    assert resumed.table("contests")["contest"].tolist() == list(range(5))
    states = [json.loads((r.path / "capabilities.json").read_text()) for r in (resumed, whole)]
    assert without_folders(states[0]) == without_folders(states[1])
    # the memory shaped what was written after the kill, so a resume that forgot it could not match
    prompt = whole.table("messages").query("competitor == 'B' and contest == 3")["prompt"].iat[0]
    assert any(b["content"].split(". ", 1)[0] in prompt for b in at_kill["ace"]["bullets"])
    metrics = [json.loads((r.path / "metrics.json").read_text()) for r in (resumed, whole)]
    assert metrics[0]["resumed_from"] == 3 and metrics[0]["llm_calls"] == metrics[1]["llm_calls"]
    assert metrics[0]["llm_calls_lost"] > 0 == metrics[1]["llm_calls_lost"]  # contest 3's first writing, counted apart


def test_restored_capabilities_continue_as_the_originals(task, scenarios):
    """Snapshot after two outcomes, restore into fresh capabilities from the JSON, then feed both the same contests."""
    anchors = scenarios.anchors("sales", "train")[:4]
    made = {"ace": lambda: ACECapability(embedder="tfidf"),
            "arcmemo": lambda: ArcMemoCapability(update_every=3, embedder="tfidf"),
            "memagent": MemAgentCapability}  # each in its own scratch folder

    def play(cap, contests):
        for c in contests:
            cap.before_write(task, anchors[c], "<sales> {name} <msg>")
            cap.after_outcome(task, outcome(anchors[c], f"{anchors[c].name} is here, order now!", 1 + c % 3, contest=c))

    for name, make in made.items():
        original = make()
        play(original, [0, 1])
        copy = make()
        copy.restore(json.loads(json.dumps(original.state())))
        assert copy.state() | {"folder": ""} == original.state() | {"folder": ""}, name
        play(original, [2, 3])
        play(copy, [2, 3])
        assert copy.state() | {"folder": ""} == original.state() | {"folder": ""}, name
    assert original.state()["memory"]["files"] and copy.state()["read_count"] == 4


def test_mem_agent_restore_rewrites_its_folder_byte_for_byte_and_stays_inside(tmp_path):
    cap = MemAgentCapability(folder=str(tmp_path / "mem"))
    (cap.folder / "entities").mkdir()
    (cap.folder / "empty").mkdir()
    (cap.folder / "entities" / "p0.md").write_bytes(b"# p0\r\nlast thought: caf\xe9\n")  # CRLF, not UTF-8
    state = json.loads(json.dumps(cap.state()))
    (cap.folder / "entities" / "p0.md").write_text("a contest never committed")
    (cap.folder / "user.md").write_text("also never committed")
    cap.restore(state)
    assert sorted(p.relative_to(cap.folder).as_posix() for p in cap.folder.rglob("*")) == ["empty", "entities", "entities/p0.md"]
    assert (cap.folder / "entities" / "p0.md").read_bytes() == b"# p0\r\nlast thought: caf\xe9\n"
    for bad in ("../planted.md", "/tmp/planted.md"):
        with pytest.raises(AgoraError, match="outside its folder"):
            cap.restore({**state, "memory": {"dirs": [], "files": {bad: "x"}}})
    assert not (tmp_path / "planted.md").exists() and (cap.folder / "entities" / "p0.md").is_file()  # refused before any change
