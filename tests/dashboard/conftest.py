"""A run store made the way users make one — real (small) contests, an audit, a probe validation — plus a run
killed half-way and a run written by an older version, for every dashboard page to render."""

import shutil
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml

from agora.experiments.audit import audit
from agora.probes.validate import ValidationRecord
from agora.sim.config import RunConfig
from agora.experiments.engines import LocalEngine
from agora.sim.budget import Budget
from agora.sim.runner import build_model, execute, start_run, validate_config
from agora.sim.store import RunStore
from agora.experiments.sweep import Sweep, SweepSpec, run_sweep

APP = Path(__file__).parents[2] / "dashboard" / "app.py"
JUDGE = "judge"  # the small test control writes noise that the forfeit rule would keep from every audience
def start_dashboard(root: Path) -> tuple[subprocess.Popen, str]:
    """`agora dashboard` on a free port, once it answers its health check."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([shutil.which("agora"), "dashboard", "--store", str(root), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        if answers(url):
            return proc, url
        time.sleep(0.5)
    proc.kill()
    pytest.fail("the dashboard did not come up: " + proc.stdout.read().decode()[-2000:])


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
        return True
    except OSError:
        return False


class Kill(Exception):
    """Stands in for the process dying after some contests (what kill -9 leaves: committed parts, status running)."""


def killed_run(store: RunStore, config: RunConfig, after: int) -> str:
    scenarios = validate_config(config)
    budget = Budget()
    model = build_model(config, scenarios, budget)
    run = store.create(config)

    def progress(done, total):
        if done == after:
            raise Kill

    with pytest.raises(Kill):
        execute(run, model, scenarios, budget, progress)
    store.update(run.run_id, status="running", pid=2**22 + 1, host=socket.gethostname())  # as kill -9 leaves it: a dead pid
    return run.run_id


def older_run(store: RunStore, source: str) -> str:
    """A copy of a finished run as an earlier Agora wrote it: fewer columns, a config key since renamed."""
    run_id = source[:-4] + "0ld0"
    src, dst = store.root / source, store.root / run_id
    shutil.copytree(src, dst)
    (dst / "cascades.parquet").unlink(missing_ok=True)
    contests = pd.read_parquet(dst / "contests.parquet").drop(columns=["cascade_seeds", "competitors"])
    contests.to_parquet(dst / "contests.parquet", index=False)
    cfg = yaml.safe_load((dst / "config.yaml").read_text())
    cfg["n_contests"] = cfg.pop("contests")
    (dst / "config.yaml").write_text(yaml.safe_dump(cfg))
    row = store.list().set_index("run_id").loc[source]
    with sqlite3.connect(store.index) as db:  # the index row as the older version wrote it: fewer columns
        db.execute("INSERT INTO runs (run_id, kind, task, status, path, policy, seed) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (run_id, "contest", row["task"], "finished", str(dst), row["policy"], 0))
    return run_id


@pytest.fixture(scope="session")
def dash_store(tmp_path_factory, tiny_path, small_tiny) -> dict:
    store = RunStore(tmp_path_factory.mktemp("dash") / "runs")
    ids = {}
    for task, n in (("sales", 4), ("social", 4)):
        ids[task] = start_run(RunConfig(task=task, contests=n, policy="tiny", tiny=small_tiny, invalid=JUDGE), store).run_id
    ids["audit"], _ = audit(f"hf:{tiny_path}", f"hf:{tiny_path}", ["sales", "social"], store, contests=16, tiny=small_tiny,
                            invalid=JUDGE)
    ids["validation"] = ValidationRecord().run(store)
    ids["killed"] = killed_run(store, RunConfig(task="election", contests=5, policy="tiny", tiny=small_tiny, invalid=JUDGE), after=2)
    ids["older"] = older_run(store, ids["social"])
    plan = Sweep(SweepSpec(name="dash", base={"task": "sales", "contests": 2, "policy": "tiny", "tiny": small_tiny, "invalid": JUDGE},
                           grid={"seed": [0, 1], "sampling.temperature": [0.7, 1.0]}))
    run_sweep(plan, store, LocalEngine(1))
    ids["sweep"] = plan.id
    return {"root": store.root, **ids}
