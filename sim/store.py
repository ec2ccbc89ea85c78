"""The run store: one folder per run plus a SQLite index of all runs.

    runs/<run_id>/config.yaml, messages.parquet, judgments.parquet, contests.parquet (+ cascades.parquet: social)
    runs/runs.sqlite

While a run is going, each finished contest is written as its own Parquet parts under
`parts/` (write-then-rename; the contests part last, as the commit mark), so a killed run loses
at most the contest in flight and `--resume` finds exactly which contests are done. Finishing
consolidates the parts into the three tables. A run with capabilities also writes, before the commit mark,
`parts/capabilities-<contest>.json`: every competitor's capability state after that contest, which `--resume` hands
back to the capabilities; and every run `parts/usage-<contest>.json`, the LLM calls and tokens the committed contests
cost (older ones of both are dropped once a later contest is committed). `usage.json` is what the run has spent,
saved after every batch of calls: without a call cache, the difference is what interruptions lost.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import yaml

from agora.sim.config import RunConfig
from agora.sim.errors import AgoraError
from agora.sim.records import Record, read_record

TABLES = ("messages", "judgments", "contests")
SPREAD_TABLES = ("cascades",)  # written only by runs whose posts spread over the persona network
_COLUMNS = """
    run_id TEXT PRIMARY KEY, created_at TEXT, task TEXT, policy TEXT, opponent TEXT, audience TEXT,
    seed INTEGER, contests_planned INTEGER, contests_done INTEGER, status TEXT, pid INTEGER, host TEXT,
    started_at TEXT, finished_at TEXT, seconds REAL, metrics TEXT, path TEXT, kind TEXT
"""


def new_run_id() -> str:
    """Short and sortable: UTC time to the second plus 4 random hex digits."""
    return datetime.now(timezone.utc).strftime("%y%m%d-%H%M%S-") + secrets.token_hex(2)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


INDEX = "runs.sqlite"  # the index of a store, in its root


def atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        df.to_parquet(tmp, index=False)
    except OSError as err:  # Arrow's names no file; a half-written one is freed on a full disk
        tmp.unlink(missing_ok=True)
        raise OSError(err.errno, err.strerror or str(err), str(path)) from None
    os.replace(tmp, path)


def atomic_json(data: object, path: Path, indent: int | None = None) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, default=str, indent=indent))
    os.replace(tmp, path)


class RunStore:
    def __init__(self, root: Path | str, readonly: bool = False):
        """`readonly` (the dashboard): create nothing, open the index read-only, list nothing when there is none."""
        self.root = Path(root)
        self.index = self.root / INDEX
        self.readonly = readonly
        if readonly:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with closing(self._db()) as db, db:
            db.execute(f"CREATE TABLE IF NOT EXISTS runs ({_COLUMNS})")

    def _db(self) -> sqlite3.Connection:
        if self.readonly:
            return sqlite3.connect(f"{self.index.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        db = sqlite3.connect(self.index, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def create(self, config: RunConfig, run_id: str | None = None) -> Run:
        run_id, _ = self._entry(
            "contest", config.model_dump(mode="json"), run_id=run_id, dirs=("parts",), task=config.task,
            policy=config.policy, opponent=config.opponent, audience=config.audience, seed=config.seed,
            contests_planned=config.contests,
        )
        return Run(self, run_id)

    def create_entry(self, record: Record, run_id: str | None = None, dirs: tuple[str, ...] = (),
                     **index: object) -> tuple[str, Path]:
        """A new entry of the record's kind (audit, study, train, ...) whose config.yaml is the record."""
        return self._entry(record.kind, record.model_dump(mode="json"), run_id, dirs, **index)

    def record(self, run_id: str) -> Record | RunConfig:
        """What made an entry, as its type: a contest run's `RunConfig`, any other entry's `Record`."""
        path = self.root / run_id / "config.yaml"
        if not path.is_file():
            raise AgoraError(f"run {run_id!r} not found in store {self.root}")
        return RunConfig.load(path) if self.kind(run_id) in (None, "contest") else read_record(path)

    def _entry(self, kind: str, config: dict, run_id: str | None = None, dirs: tuple[str, ...] = (),
               **index: object) -> tuple[str, Path]:
        """A new run folder with its config.yaml and an index row.

        The folder is built under a temporary name and renamed into place after its index row is written, so
        a process killed at any point leaves either no run or a complete empty one — never a folder without a
        config. A caller that names the run (a sweep cell) can therefore simply try again."""
        if run_id is None:
            run_id, work = self._draw_id()
        else:
            if (self.root / run_id).exists():
                raise AgoraError(f"run {run_id!r} already exists in store {self.root}")
            work = self.root / f".{run_id}.creating"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
        path = self.root / run_id
        (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        for d in dirs:
            (work / d).mkdir()
        fields = {"run_id": run_id, "created_at": _now(), "status": "created", "path": run_id, "kind": kind,
                  "contests_done": 0, **index}
        with closing(self._db()) as db, db:
            db.execute(f"INSERT OR REPLACE INTO runs ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
                       tuple(fields.values()))
        os.replace(work, path)
        return run_id, path

    def _draw_id(self) -> tuple[str, Path]:
        """A fresh run id, claimed by making its temporary folder: two runs started in the same second can draw the
        same id, and the second then draws again rather than share the first one's folder and index row."""
        while True:
            run_id = new_run_id()
            work = self.root / f".{run_id}.creating"
            try:
                work.mkdir(parents=True)
            except FileExistsError:
                continue
            if not (self.root / run_id).exists():  # checked after the claim: the first may have just renamed its folder
                return run_id, work
            work.rmdir()

    def open(self, run_id: str) -> Run:
        if not (self.root / run_id / "config.yaml").is_file():
            raise AgoraError(f"run {run_id!r} not found in store {self.root}")
        if (kind := self.kind(run_id)) not in (None, "contest"):
            raise AgoraError(f"run {run_id!r} is a {kind} run, not a contest run")
        return Run(self, run_id)

    def kind(self, run_id: str) -> str | None:
        with closing(self._db()) as db:
            row = db.execute("SELECT kind FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return row[0] if row else None

    def update(self, run_id: str, **fields) -> None:
        cols = ", ".join(f"{k} = ?" for k in fields)
        with closing(self._db()) as db, db:
            db.execute(f"UPDATE runs SET {cols} WHERE run_id = ?", (*fields.values(), run_id))

    def list(self) -> pd.DataFrame:
        return self._select("")

    def row(self, run_id: str) -> pd.Series:
        """One run's index row, read on its own (a sweep worker asks about its cell, not the whole store)."""
        rows = self._select("WHERE run_id = ?", (run_id,))
        if rows.empty:
            raise AgoraError(f"run {run_id!r} is not in the index of store {self.root}")
        return rows.iloc[0]

    def _select(self, where: str, args: tuple = ()) -> pd.DataFrame:
        """Index rows with each run's folder under this root, a killed run shown as interrupted and metrics parsed."""
        if self.readonly and not self.index.is_file():
            return pd.DataFrame(columns=[c.split()[0] for c in _COLUMNS.strip().replace("\n", " ").split(", ")])
        with closing(self._db()) as db:
            df = pd.read_sql_query(f"SELECT * FROM runs {where} ORDER BY run_id", db, params=args)
        df["path"] = [str(self._folder(run_id, recorded)) for run_id, recorded in zip(df["run_id"], df["path"])]
        df["status"] = [_live_status(s, pid, host) for s, pid, host in zip(df["status"], df["pid"], df["host"])]
        df["metrics"] = [json.loads(m) if isinstance(m, str) and m else {} for m in df["metrics"]]
        return df

    def _folder(self, run_id: str, recorded) -> Path:
        """A run's folder under the store's current root, so a store opened from elsewhere, copied or moved still
        reads. The index records it relative to the root; an older index recorded it as given (absolute, or relative
        to where the run started), which stands for the folder named after the run."""
        if isinstance(recorded, str) and recorded and not Path(recorded).is_absolute() and (self.root / recorded).is_dir():
            return self.root / recorded
        return self.root / run_id


def finished(path: Path) -> bool:
    return all((path / f"{t}.parquet").is_file() for t in TABLES) and not (path / "parts").exists()


def done_contests(path: Path) -> list[int]:
    """Contests whose commit mark (the contests part) exists, or all of them if consolidated."""
    if finished(path):
        return sorted(pd.read_parquet(path / "contests.parquet")["contest"].tolist())
    return sorted(int(p.stem.split("-")[1]) for p in (path / "parts").glob("contests-*.parquet"))


def read_table(path: Path, name: str) -> pd.DataFrame:
    """A table of the run in `path`, from the consolidated file or, while running (or killed), from its committed parts.
    A plain function of the folder, so that readers (the dashboard) need neither the index nor the config."""
    final = path / f"{name}.parquet"
    if final.is_file():
        return pd.read_parquet(final)
    done = set(done_contests(path))
    files = [p for p in sorted((path / "parts").glob(f"{name}-*.parquet")) if int(p.stem.split("-")[1]) in done]
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files else pd.DataFrame()


def _live_status(status: str, pid, host) -> str:
    """A 'running' run whose process is gone on this host was killed: show it as interrupted."""
    if status != "running" or pid is None or pd.isna(pid) or host != socket.gethostname():
        return status
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return "interrupted"
    except PermissionError:
        pass
    return status


class Run:
    def __init__(self, store: RunStore, run_id: str):
        self.store = store
        self.run_id = run_id
        self.path = store.root / run_id
        self.config = RunConfig.load(self.path / "config.yaml")

    @property
    def parts(self) -> Path:
        return self.path / "parts"

    def finished(self) -> bool:
        return finished(self.path)

    def done_contests(self) -> list[int]:
        return done_contests(self.path)

    def start(self) -> None:
        self.store.update(
            self.run_id, status="running", pid=os.getpid(), host=socket.gethostname(), started_at=_now()
        )

    def save_config(self, config: RunConfig) -> None:
        self.config = config
        config.save(self.path / "config.yaml")

    def write_contest(self, contest: int, tables: dict[str, pd.DataFrame], usage: dict | None = None,
                      capabilities: dict | None = None) -> None:
        """Commit one contest's rows; `usage` (LLM calls and tokens the contests committed so far cost, this one
        included) and `capabilities` (their states after the contest) are committed with the rows: a kill leaves
        neither ahead."""
        for name, state in (("usage", usage), ("capabilities", capabilities)):
            if state is not None:
                atomic_json(state, self.parts / f"{name}-{contest:06d}.json")
        for name in sorted(tables, key=lambda n: n == "contests"):  # contests last: it marks the contest done
            atomic_parquet(tables[name], self.parts / f"{name}-{contest:06d}.parquet")
        for old in [*self.parts.glob("usage-*.json"), *self.parts.glob("capabilities-*.json")]:
            if int(old.stem.split("-")[1]) < contest:  # only the latest committed state is ever read back
                old.unlink()
        self.store.update(self.run_id, contests_done=len(self.done_contests()))

    def capability_states(self) -> dict | None:
        """The capabilities' states committed with the last done contest; None before the first."""
        done = self.done_contests()
        if not done:
            return None
        path = self.parts / f"capabilities-{done[-1]:06d}.json"
        if not path.is_file():
            raise AgoraError(f"run {self.run_id} has no capability state saved with contest {done[-1]} (saved by an "
                             "older Agora?); its capabilities' memory cannot be resumed — start the run again")
        return json.loads(path.read_text())

    def usage(self) -> dict:
        """LLM calls and tokens spent so far, by every process that ran the run, on contests committed or not."""
        path = self.path / "usage.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def save_usage(self, usage: dict) -> None:
        atomic_json(usage, self.path / "usage.json")

    def committed_usage(self) -> dict:
        """LLM calls and tokens the committed contests cost (of a run that saved none, an older Agora's: all it spent)."""
        done = self.done_contests()
        if not done:
            return {}
        path = self.parts / f"usage-{done[-1]:06d}.json"
        return json.loads(path.read_text()) if path.is_file() else self.usage()

    def table(self, name: str) -> pd.DataFrame:
        return read_table(self.path, name)

    def finish(self, metrics: dict, seconds: float) -> None:
        """Consolidate the parts; metrics.json is written before the parts go, so a finished folder always has it."""
        for name in TABLES + tuple(t for t in SPREAD_TABLES if any(self.parts.glob(f"{t}-*.parquet"))):
            df = self.table(name)
            if "contest" in df:
                df = df.sort_values("contest", kind="stable").reset_index(drop=True)
            atomic_parquet(df, self.path / f"{name}.parquet")
        (self.path / "metrics.json").write_text(json.dumps(metrics, indent=2))
        shutil.rmtree(self.parts)
        self.index_finished(metrics, round(seconds, 2))

    def index_finished(self, metrics: dict | None = None, seconds: float | None = None) -> None:
        """Record the run as finished in the index; without `metrics`, from the folder's metrics.json — which
        repairs the row of a run killed between consolidating and indexing."""
        metrics = metrics if metrics is not None else json.loads((self.path / "metrics.json").read_text())
        self.store.update(
            self.run_id, status="finished", finished_at=_now(), seconds=seconds, metrics=json.dumps(metrics),
            contests_done=metrics.get("contests", 0),
        )

    def mark(self, status: str, seconds: float | None = None, note: str = "") -> None:
        """Record why a run stopped (interrupted, failed, budget); `note` goes into the index's metrics."""
        self.store.update(self.run_id, status=status, seconds=seconds, **({"metrics": json.dumps({"stopped": note})} if note else {}))
