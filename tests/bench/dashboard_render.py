"""Time to first render of the dashboard's Runs and Case studies pages on a large store (200 runs, 100k judgments).

    python tests/bench/dashboard_render.py [--source STORE] [--runs 200]

The store is made of real runs: without --source, four 40-contest runs (800 judgments each) and an audit are
run on the embedded model, then cloned (tables copied, new ids) up to --runs runs: 200 runs, ~100k judgments. Each page is
rendered by Streamlit's AppTest twice: cold (caches cleared) and warm. Goal: warm < 2 s. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = Path(__file__).parents[2] / "dashboard" / "app.py"


def make_source(root: Path) -> Path:
    from agora.experiments.audit import audit
    from agora.sim.config import RunConfig
    from agora.sim.runner import start_run
    from agora.sim.store import RunStore

    store = RunStore(root)
    for task, seed in (("sales", 0), ("election", 0), ("social", 0), ("sales", 1)):
        start_run(RunConfig(task=task, contests=40, seed=seed, policy="tiny"), store)
    audit("tiny", "tiny", ["sales", "election", "social"], store, contests=16)
    return root


def clone(source: Path, target: Path, runs: int) -> int:
    """Copy the source's contest and audit runs, cycling, until `runs` runs; returns the judgment rows in all."""
    from agora.sim.store import RunStore

    origin, dst = RunStore(source, readonly=True), RunStore(target)
    src = origin.list()
    src = src[src["kind"].isin(["contest", "audit"]) & (src["status"] == "finished")]
    judgments = 0
    for i in range(runs):
        row = src.iloc[i % len(src)]
        record = origin.record(row["run_id"])
        if row["kind"] == "contest":
            run = dst.create(record)
            run_id, path = run.run_id, run.path
            run.parts.rmdir()  # its tables are copied whole, as a finished run has them
        else:
            index = {k: row[k] for k in ("task", "policy", "opponent", "seed") if pd.notna(row[k])}
            run_id, path = dst.create_entry(record, **index)
        for f in Path(row["path"]).glob("*.*"):
            if f.name != "config.yaml":
                shutil.copy(f, path / f.name)
        dst.update(run_id, status="finished", metrics=json.dumps(row["metrics"]), contests_done=int(row["contests_done"]))
        if (path / "judgments.parquet").is_file():
            judgments += len(pd.read_parquet(path / "judgments.parquet", columns=["contest"]))
    return judgments


def render(page: str, **query: str) -> float:
    at = AppTest.from_file(str(APP), default_timeout=300)
    start = time.perf_counter()
    at.run()
    if page != "runs":
        at.switch_page(f"views/{page}.py")
        at.query_params.update(query)
        start = time.perf_counter()  # time the page itself, not the default page that the first run shows
        at.run()
    seconds = time.perf_counter() - start
    assert not at.exception, at.exception
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, help="a store whose contest and audit runs are cloned")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="agora-bench-dash-"))
    source = args.source or make_source(work / "source")
    judgments = clone(source, work / "store", args.runs)
    os.environ["AGORA_STORE"] = str(work / "store")
    print(f"store: {args.runs} runs, {judgments:,} judgment rows ({work / 'store'})")
    from agora.sim.store import RunStore

    runs = RunStore(work / "store", readonly=True).list()
    contest = runs[runs["kind"] == "contest"]["run_id"].iat[-1]
    for page, query in (("runs", {}), ("case_studies", {}), ("run_detail", {"run": contest})):
        st.cache_data.clear()
        cold = render(page, **query)
        warm = render(page, **query)
        print(f"{page:>13}: first render {cold:5.2f} s cold, {warm:5.2f} s warm  (warm/goal 2 s = {warm / 2:.2f})")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
