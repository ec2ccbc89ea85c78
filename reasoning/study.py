"""What the three reasoning studies (`trm_study`, `ahn_study`, `delethink_study`) share: the result a study
returns, and how it is kept in the run store (their settings are in `settings`).

A study runs on one torch thread, so its timings compare across machines and runs; the thread count is put back
afterwards because the caller (a test, a notebook) may go on to do other work in the same process.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import pandas as pd
import torch

from agora.reasoning.settings import AHNSettings, DelethinkSettings, TRMSettings
from agora.sim.records import Record, settings_record
from agora.sim.store import RunStore, atomic_parquet

# (done, total): a study calls it after each unit of work (a batch, a step, a generation)
Progress = Callable[[int, int], None]


def ticker(progress: Progress | None, total: int) -> Callable[[], None]:
    """A no-argument callback that counts one unit of work done out of `total` and reports it to `progress`."""
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    return tick


@dataclass
class StudyResult:
    """A study's tables (the first is the headline), the line saying what was measured, and the machine."""

    kind: str
    settings: object
    tables: dict[str, pd.DataFrame]
    header: str
    float_format: str = ".3f"
    notes: list[str] = field(default_factory=list)
    machine: dict = field(default_factory=dict)

    @property
    def table(self) -> pd.DataFrame:
        return next(iter(self.tables.values()))


@contextmanager
def one_thread() -> Iterator[dict]:
    """Run on one torch thread; yields the machine the study ran on, as saved with its results."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__, "torch_threads": 1}
    finally:
        torch.set_num_threads(before)


class Study(Record):
    """What a reasoning study's record does; its fields are the study's settings (`RECORDS`)."""

    def run(self, store: RunStore, say: Callable[[str], None] = lambda _: None) -> str:
        # imported here: each study module imports this one
        study = import_module(f"agora.reasoning.{self.record.removeprefix('reasoning-')}_study")
        started = time.perf_counter()
        result = study.run(self.settings())
        return save(result, store, time.perf_counter() - started)[0]


# per study, its record: kind `reasoning-<study>`, the fields of its settings
RECORDS = {kind: settings_record(settings, f"reasoning-{kind}", Study)
           for kind, settings in (("trm", TRMSettings), ("ahn", AHNSettings), ("delethink", DelethinkSettings))}


def save(result: StudyResult, store: RunStore, seconds: float) -> tuple[str, Path]:
    """A store entry (kind `reasoning-<study>`): config.yaml is the record of its settings (seed included), one
    Parquet per table, and summary.json what the tables leave out (the header line, notes, machine, seconds)."""
    record = RECORDS[result.kind](**dataclasses.asdict(result.settings))
    run_id, path = store.create_entry(record, seed=result.settings.seed)
    for name, table in result.tables.items():
        atomic_parquet(table, path / f"{name}.parquet")
    summary = {"header": result.header, "notes": result.notes, "machine": result.machine, "seconds": round(seconds, 2)}
    (path / "summary.json").write_text(json.dumps(summary, indent=2))
    store.update(run_id, status="finished", seconds=round(seconds, 2))
    return run_id, path
