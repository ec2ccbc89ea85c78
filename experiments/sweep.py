"""Scenario sweeps: a YAML grid of run settings, each cell a run in the store, run in parallel and resumable.

    name: sales-temperature
    base: {task: sales, contests: 20}          # RunConfig fields shared by every cell
    grid: {seed: [0, 1, 2], sampling.temperature: [0.4, 0.7, 1.0]}   # the cartesian product ...
    cells: [{audience: parametric}, {audience: "llm:tiny"}]         # ... crossed with explicit cells
    max_calls: 100000                          # optional, for the whole sweep

A cell may also name a stage that runs before its contests, registered by another package: with `train:
{method: rft, inoculation: exaggerate}` (keys of training's TrainConfig), the cell fine-tunes `policy` on its
task and seed and then runs `policy` (A) against the trained checkpoint (B) — so methods and inoculation
prompts are grid axes too (`train.method: [rft, tfb]`).

A cell's run id is derived from the sweep and the cell, so running the same command again finds every cell:
finished ones are skipped, half-done ones continue from their last committed contest (the run store's
contest-level commit), and nothing is run twice. The whole file — every cell's config, policies,
capabilities and scenarios — is validated before the first run starts.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agora.sim.config import RunConfig
from agora.sim.errors import AgoraError
from agora.sim.lifetime import die_with_parent
from agora.sim.records import Record
from agora.sim.scenario import one_line, plain, quoted, read_yaml
from agora.sim.registry import Registry
from agora.sim.runner import resume_run, start_run, validate_config
from agora.sim.store import Run, RunStore, atomic_parquet

SUMMARY_METRICS = ("contests", "win_share", "abstention_rate", "names_and_true_fact", "cascade_mean", "llm_calls",
                   "llm_tokens", "contests_per_second")

# stages a sweep cell may run before its contests (e.g. "train": fine-tune the opponent), by the cell's key
sweep_stages: Registry = Registry("sweep stage", "agora.sweep_stages")


class SweepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="names the sweep's entry in the store")
    base: dict = Field(default_factory=dict, description="RunConfig fields shared by every cell")
    grid: dict[str, list] = Field(default_factory=dict, description="field -> values; every combination is a cell")
    cells: list[dict] = Field(default_factory=list, description="explicit cells, each crossed with the grid")
    max_calls: int | None = Field(default=None, ge=1, description="LLM calls for the whole sweep")
    max_tokens: int | None = Field(default=None, ge=1, description="generated tokens for the whole sweep")


class SweepRecord(SweepSpec, Record):
    """A sweep's entry: its spec and the file it came from. Its id is its cells' hash, so re-running it resumes
    that same entry (finished cells kept) rather than making a new one."""

    record: Literal["sweep"] = "sweep"
    source: str = Field(default="sweep", description="the sweep file, as given")

    def run(self, store: RunStore, say: Callable[[str], None] = lambda _: None) -> str:
        from agora.experiments.engines import LocalEngine  # engines imports this module

        sweep = Sweep(SweepSpec(**self.model_dump(exclude={"record", "source"})), self.source)
        run_sweep(sweep, store, LocalEngine())
        return sweep.id


def _set(config: dict, dotted: str, value) -> dict:
    """`sampling.temperature: 0.4` -> {"sampling": {"temperature": 0.4}}, merged into a copy. A dotted key under a
    setting that is not a mapping replaces it (and the config's validation says what the setting should be)."""
    head, _, rest = dotted.partition(".")
    out = dict(config)
    inner = out.get(head)
    out[head] = _set(inner if isinstance(inner, dict) else {}, rest, value) if rest else value
    return out


class Sweep:
    def __init__(self, spec: SweepSpec, source: str = "sweep"):
        self.spec = spec
        self.source = source
        self.overrides = self._expand()
        self.stages: list[dict[str, dict]] = []  # per cell: stage name -> its settings
        self.configs = [self._config(i, o) for i, o in enumerate(self.overrides)]
        digest = hashlib.sha256(json.dumps([[c.model_dump(mode="json"), st] for c, st in zip(self.configs, self.stages)],
                                           sort_keys=True).encode()).hexdigest()
        self.id = f"sweep-{spec.name}-{digest[:8]}"  # same file, same id: how a re-run finds its cells

    @classmethod
    def load(cls, path: Path) -> Sweep:
        if not path.is_file():
            raise AgoraError(f"{path}: sweep file not found")
        data = read_yaml(path)
        try:
            return cls(SweepSpec.model_validate(data if isinstance(data, dict) else {"": data}), str(path))
        except ValidationError as err:
            e = err.errors()[0]
            where = ".".join(plain(p) for p in e["loc"])
            hint = f"; known keys: {', '.join(SweepSpec.model_fields)}" if e["type"] == "extra_forbidden" else ""
            raise AgoraError(f"{path}: {where}: {one_line(e['msg'])}{hint}") from None

    def _expand(self) -> list[dict]:
        for key, values in self.spec.grid.items():
            if not values:
                raise AgoraError(f"{self.source}: grid.{key}: empty list of values; a grid needs at least one per key")
        for i, cell in enumerate(self.spec.cells):
            if bad := [k for k in cell if not isinstance(k, str)]:
                raise AgoraError(f"{self.source}: cells[{i}]: key {quoted(bad[0])} is not a setting name; write "
                                 "RunConfig fields (dotted for nested ones: sampling.temperature)")
        combos = [dict(zip(self.spec.grid, vs)) for vs in itertools.product(*self.spec.grid.values())]
        cells = [{**cell, **combo} for cell in (self.spec.cells or [{}]) for combo in combos]
        if cells == [{}] and not self.spec.base:
            raise AgoraError(f"{self.source}: empty sweep: give a grid, cells or at least base settings")
        return cells

    def _config(self, index: int, overrides: dict) -> RunConfig:
        config = dict(self.spec.base)
        for key, value in overrides.items():
            config = _set(config, key, value)
        stages = {name: config.pop(name) for name in list(config) if name not in RunConfig.model_fields}
        for name, settings in stages.items():
            if not isinstance(name, str) or not isinstance(settings, dict):
                raise AgoraError(f"{self.source}: cell {index} ({_label(overrides)}): {plain(name)}: expected a mapping "
                                 f"of settings, or not a RunConfig field (known: {', '.join(RunConfig.model_fields)})")
            try:  # the sweep's id hashes them: they must be JSON, as a stage's settings are
                json.dumps(settings, sort_keys=True)
            except (TypeError, ValueError, RecursionError):
                raise AgoraError(f"{self.source}: cell {index} ({_label(overrides)}): {name}: settings must be "
                                 "names, numbers, text, lists and mappings with text keys, as JSON holds") from None
        self.stages.append(stages)
        try:
            return RunConfig.model_validate(config)
        except ValidationError as err:
            e = err.errors()[0]
            field = ".".join(plain(p) for p in e["loc"])
            raise AgoraError(f"{self.source}: cell {index} ({_label(overrides)}): {field}: {one_line(e['msg'])}") from None

    def validate(self) -> None:
        """Everything a run would check at its start, for every cell, before any run starts."""
        for i, (config, overrides, stages) in enumerate(zip(self.configs, self.overrides, self.stages)):
            try:
                validate_config(config)
                for name, settings in stages.items():
                    sweep_stages.get(name).validate(settings, config)
            except AgoraError as err:
                raise AgoraError(f"{self.source}: cell {i} ({_label(overrides)}): {err}") from None

    def run_id(self, index: int) -> str:
        return f"{self.id}-{index:03d}"


def _label(overrides: dict) -> str:
    """A cell as its settings, shortened to fit one line of an error."""
    return one_line(", ".join(f"{k}={plain(v) if isinstance(v, str) else one_line(str(v), 60)}"
                              for k, v in overrides.items()), 200) or "base"


def orphan_guard() -> None:
    """A local pool worker's initializer: the worker dies with the sweep however the sweep dies, even before it is
    given a cell. An orphaned worker would go on writing its cell after the sweep is gone, and the sweep run again
    would find that cell still running."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        die_with_parent(parent.pid)


def run_cell(store_root: str, run_id: str, config: dict, max_calls: int | None = None, max_tokens: int | None = None,
             threads: int | None = None, stages: dict | None = None) -> dict:
    """Start, resume or skip one cell; the unit of work an engine executes (in a worker process or a Ray task).
    Returns the run's index row fields that the summary needs."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one bar per cell in the parent, not a loading bar per worker
    if threads:
        import torch

        torch.set_num_threads(threads)
    store = RunStore(store_root)
    path = store.root / run_id
    if (path / "config.yaml").is_file():
        run, row = Run(store, run_id), store.row(run_id)
        if run.finished():
            if row["status"] != "finished":  # killed between consolidating its tables and indexing them
                run.index_finished()
        else:
            if row["status"] == "running" and row["host"] == socket.gethostname() and int(row["pid"]) != os.getpid():
                # e.g. an orphaned worker of a killed sweep, still alive: not run a second time
                raise AgoraError(f"run {run_id} is still being run by process {int(row['pid'])}; wait for it or kill it")
            run = resume_run(run_id, store)
    else:
        cfg = RunConfig.model_validate(config)
        for name, settings in (stages or {}).items():  # e.g. train the opponent first
            cfg = sweep_stages.get(name).prepare(settings, cfg, store, run_id)
        cfg.max_calls = _tighter(cfg.max_calls, max_calls)
        cfg.max_tokens = _tighter(cfg.max_tokens, max_tokens)
        run = start_run(cfg, store, run_id=run_id)
    row = store.row(run_id)
    return {"run_id": run_id, "status": row["status"], "contests_done": int(row["contests_done"] or 0),
            "seconds": row["seconds"], "metrics": row["metrics"]}


def _tighter(a: int | None, b: int | None) -> int | None:
    return min(x for x in (a, b) if x is not None) if (a, b) != (None, None) else None


Report = Callable[[dict], None]  # called with each finished cell's result


def run_sweep(sweep: Sweep, store: RunStore, engine, report: Report = lambda _: None) -> pd.DataFrame:
    """Validate everything, record the sweep, run its cells on `engine`, and return (and save) the summary."""
    sweep.validate()
    entry = store.root / sweep.id
    if not (entry / "config.yaml").is_file():
        store.create_entry(SweepRecord(**sweep.spec.model_dump(), source=sweep.source), run_id=sweep.id,
                           contests_planned=sum(c.contests for c in sweep.configs))
    store.update(sweep.id, status="running", pid=os.getpid(), host=socket.gethostname())
    cells = pd.DataFrame({"cell": range(len(sweep.configs)), "run_id": [sweep.run_id(i) for i in range(len(sweep.configs))],
                          "overrides": [json.dumps(o) for o in sweep.overrides]})
    atomic_parquet(cells, entry / "cells.parquet")
    jobs = [(i, sweep.run_id(i), c.model_dump(mode="json"), st) for i, (c, st) in enumerate(zip(sweep.configs, sweep.stages))]
    results = engine.run(jobs, store.root, sweep.spec.max_calls, sweep.spec.max_tokens, report)
    table = summary(sweep, results)
    atomic_parquet(table.astype({c: str for c in table.columns if table[c].map(type).eq(dict).any()}), entry / "summary.parquet")
    done = (table["status"] == "finished").all()
    store.update(sweep.id, status="finished" if done else "partial", contests_done=int(table["contests_done"].sum()),
                 metrics=json.dumps({"cells": len(table), "finished": int((table["status"] == "finished").sum())}))
    return table


def summary(sweep: Sweep, results: dict[int, dict]) -> pd.DataFrame:
    """One row per cell: its settings, status and headline metrics (win shares as one column per competitor)."""
    rows = []
    for i, overrides in enumerate(sweep.overrides):
        result = results.get(i, {"run_id": sweep.run_id(i), "status": "not run", "contests_done": 0, "metrics": {}})
        metrics = result.get("metrics") or {}
        row = {"cell": i, **overrides, "run_id": result["run_id"], "status": result["status"],
               "contests_done": result["contests_done"]}
        for key in SUMMARY_METRICS:
            value = metrics.get(key)
            if isinstance(value, dict):
                row.update({f"{key} {k}": v for k, v in value.items()})
            elif value is not None:
                row[key] = value
        rows.append(row)
    return pd.DataFrame(rows)
