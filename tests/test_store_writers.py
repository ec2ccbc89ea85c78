"""Two `agora run` processes writing one store at once lose no rows and leave its index intact."""

import os
import sqlite3
import subprocess
import sys
from contextlib import closing

from agora.sim import store as store_module
from agora.sim.config import RunConfig
from agora.sim.store import TABLES, RunStore

CONTESTS = 12

# `agora run` that, with its models loaded, waits for the other run before creating its own: loading takes far longer
# than the contests, so without the wait the two would barely write at the same time.
TOGETHER = """
import os, time
from pathlib import Path
from agora.sim import store
from agora.cli.main import app

create = store.RunStore.create

def together(self, *args, **kwargs):
    gate = Path(os.environ["GATE"])
    (gate / str(os.getpid())).touch()
    deadline = time.time() + 120
    while len(list(gate.iterdir())) < 2 and time.time() < deadline:
        time.sleep(0.02)
    return create(self, *args, **kwargs)

store.RunStore.create = together
app()
"""


def test_two_runs_writing_one_store_at_once_both_finish_whole(tmp_path, tiny_path, small_tiny):
    root, gate = tmp_path / "runs", tmp_path / "gate"
    gate.mkdir()
    procs = []
    for seed in (1, 2):
        cfg = tmp_path / f"seed{seed}.yaml"
        RunConfig(task="sales", contests=CONTESTS, seed=seed, policy="tiny", tiny=small_tiny, invalid="judge").save(cfg)
        procs.append(subprocess.Popen([sys.executable, "-c", TOGETHER, "run", "--config", str(cfg), "--store", str(root)],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      env={**os.environ, "GATE": str(gate)}))
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=300)
            assert proc.returncode == 0, out
    finally:
        for proc in procs:
            proc.kill()
    store = RunStore(root)
    runs = store.list()
    assert sorted(runs["seed"]) == [1, 2] and set(runs["status"]) == {"finished"} and set(runs["contests_done"]) == {CONTESTS}
    for run_id in runs["run_id"]:
        run = store.open(run_id)
        assert run.finished() and all(sorted(run.table(t)["contest"].unique()) == list(range(CONTESTS)) for t in TABLES)
    with closing(sqlite3.connect(store.index)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_a_drawn_run_id_already_taken_is_drawn_again(store, monkeypatch):
    drawn = iter(["260101-000000-aaaa", "260101-000000-aaaa", "260101-000000-bbbb"])
    monkeypatch.setattr(store_module, "new_run_id", lambda: next(drawn))
    first, second = (store.create(RunConfig(task="sales", contests=1, seed=s)).run_id for s in (0, 1))
    assert (first, second) == ("260101-000000-aaaa", "260101-000000-bbbb")
    assert store.list()["seed"].tolist() == [0, 1]
