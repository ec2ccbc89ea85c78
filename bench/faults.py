"""`agora faults`: Agora's own commands under faults at seeded random points, with what each fault cost.

Each trial starts a command in a fresh store, injects one fault, then runs what a user would run next (`--resume`
for a contest run, the same command otherwise) and compares the store with an uninterrupted run of the same
command. The faults:
- `kill`: SIGKILL of the `agora` process at a uniform random point of the uninterrupted command's CPU time, counted
  from when it opened its store to the last tenth of its work. CPU time (of the process and its children, sweep
  workers included) rather than wall time, so a busy or paused machine moves no kill past the command's end; a
  kill that still comes too late is reported as missed. Any process of the command left alive after the kill is
  counted (`left_running`) and then killed;
- `disk`: the store's disk fills up: the store on a tmpfs (in a private mount namespace: `unshare -m`, as root) of a
  size drawn uniformly between what the uninterrupted command's store took when it opened it and 95% of what it took
  at the end, so the disk fills at a random point of the command's writes; then what the command left there is put
  back on the real disk, as if room had been made, for the next command. Where mounts are not allowed, a file-size
  limit (RLIMIT_FSIZE) drawn log-uniformly between 256 B and 64 KB, which faults the first file to pass it (mostly
  the index, as it is the first to grow past a few KB);
- `readonly`: the store on a read-only mount (a bind mount in a private mount namespace).

A trial passes when the fault left the index intact (`PRAGMA integrity_check`), a disk or read-only fault was
reported in one line (no traceback), and the next command finished with every entry equal to the uninterrupted
run's. Rows lost are the uninterrupted run's rows that the store lacks at the end.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import yaml

from agora.sim.store import INDEX

# every table column that names where or when, not what: the same command twice differs there and nowhere else
# and what it cost: a resumed run's calls are fewer where the call cache served the replay
_VOLATILE = re.compile(r"run_id|_run$|path|checkpoint|second|time|_at$|^started|^finished|duration|pid|host|llm_|resumed")
SMALL_CONTROL = {"hidden_size": 64, "num_layers": 2, "num_heads": 2, "intermediate_size": 128, "vocab_size": 800,
                 "corpus_size": 2400, "steps": 60, "batch_size": 16}
FAULTS = ("kill", "disk", "readonly")


@dataclass(frozen=True)
class Case:
    """One command: its argument list (given the trial folder, the store is `folder/runs`), what a user runs after a
    fault (given the folder and the store's entries), and the entry kinds it writes."""

    name: str
    argv: Callable[[Path], list[str]]
    again: Callable[[Path, list[dict]], list[str]]
    kinds: tuple[str, ...]


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run_config(folder: Path) -> Path:
    return _write(folder / "run.yaml", {"task": "sales", "contests": 4, "seed": 3, "policy": "tiny", "invalid": "judge",
                                        "tiny": SMALL_CONTROL})


def _sweep_file(folder: Path) -> Path:
    return _write(folder / "sweep.yaml", {"name": "faults", "base": {"task": "sales", "contests": 3, "policy": "tiny", "invalid": "judge",
                                                   "tiny": SMALL_CONTROL}, "grid": {"seed": [1, 2]}})


def _resume(folder: Path, entries: list[dict]) -> list[str]:
    """`agora run --resume` of the run the fault stopped; the command again if it stopped before making one."""
    stopped = [e for e in entries if e["kind"] in (None, "contest") and e["status"] != "finished"]
    if stopped:
        return ["run", "--resume", stopped[-1]["run_id"], "--store", str(folder / "runs")]
    return ["run", "--config", str(_run_config(folder)), "--store", str(folder / "runs")] if not entries else []


def _same(case_argv: Callable[[Path], list[str]]) -> Callable[[Path, list[dict]], list[str]]:
    return lambda folder, entries: case_argv(folder)


def _cases() -> dict[str, Case]:
    def run(folder):
        return ["run", "--config", str(_run_config(folder)), "--store", str(folder / "runs")]

    def sweep(folder):
        return ["sweep", str(_sweep_file(folder)), "--workers", "1", "--store", str(folder / "runs")]

    def validate(folder):
        return ["probes", "validate", "--store", str(folder / "runs")]

    def audit(folder):
        return ["audit", "--model", small_control(), "--baseline", small_control(), "--task", "sales", "--contests",
                "2", "--invalid", "judge", "--seed", "0", "--store", str(folder / "runs")]

    def train(folder):
        return ["train", "--policy", small_control(), "--task", "sales", "--contests", "2", "--rounds", "1",
                "--epochs", "1", "--seed", "0", "--store", str(folder / "runs")]

    return {
        "run": Case("run", run, _resume, ("contest",)),
        "sweep": Case("sweep", sweep, _same(sweep), ("sweep", "contest")),
        "validate": Case("validate", validate, _same(validate), ("validation",)),
        "audit": Case("audit", audit, _same(audit), ("audit", "contest")),
        "train": Case("train", train, _same(train), ("train", "contest")),
    }


CASES = _cases()


@functools.cache
def small_control() -> str:
    """The slot-grammar control at the tests' size (`SMALL_CONTROL`), as `hf:PATH`: `agora audit` and `agora train`
    take no control settings, and at the default size one build takes longer than all the trials together."""
    from agora.sim.scenario import Scenarios
    from agora.sim.tiny.control import TinyConfig
    from agora.training.controls import ensure_tiny

    return f"hf:{ensure_tiny(Scenarios.load(), TinyConfig(**SMALL_CONTROL))}"


def entries(store: Path) -> list[dict]:
    """The index's rows (run id, kind, status, folder), read without Agora so that a damaged index shows as one."""
    index = store / INDEX
    if not index.is_file():
        return []
    try:
        with closing(sqlite3.connect(index)) as db:
            rows = db.execute("SELECT run_id, kind, status FROM runs ORDER BY created_at, run_id").fetchall()
    except sqlite3.DatabaseError:  # made but not yet given its table (a fault at the store's first write), or damaged
        return []
    return [{"run_id": r, "kind": k, "status": s} for r, k, s in rows]


def intact(store: Path) -> bool:
    index = store / INDEX
    if not index.is_file():
        return True
    try:
        with closing(sqlite3.connect(index)) as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    except sqlite3.DatabaseError:
        return False


def tables(folder: Path) -> dict[str, list[str]]:
    """An entry's tables, each as its rows (CSV lines), volatile columns dropped: what a command produced."""
    import pandas as pd

    out = {}
    for table in sorted(folder.rglob("*.parquet")):
        if "parts" in table.parts:
            continue
        df = pd.read_parquet(table)
        df = df[[c for c in df.columns if not _VOLATILE.search(str(c))]]
        out[table.relative_to(folder).as_posix()] = df.to_csv(index=False, header=False).splitlines()
    return out


def results(store: Path, kinds: tuple[str, ...]) -> dict[tuple[str, str], Counter]:
    """What a command produced: the rows of each table of its finished entries, by (kind, table); an entry finished
    twice (killed after it finished, then made again) counts once."""
    seen, out = set(), defaultdict(Counter)
    for e in entries(store):
        kind = e["kind"] or "contest"
        if kind not in kinds or e["status"] != "finished":
            continue
        found = tables(store / e["run_id"])
        key = hashlib.sha256(json.dumps(found, sort_keys=True).encode()).hexdigest()
        if key in seen:
            continue
        seen.add(key)
        for name, rows in found.items():
            out[kind, name].update(rows)
    return dict(out)


def lost(reference: dict[tuple[str, str], Counter], got: dict[tuple[str, str], Counter]) -> int:
    """Rows of the uninterrupted run that the store lacks (a changed row counts as lost)."""
    return sum((rows - got.get(key, Counter())).total() for key, rows in reference.items())


def agora(argv: list[str], env: dict, log: Path, limit: Callable[[], None] | None = None,
          mount: list[str] | None = None) -> subprocess.Popen:
    """`agora ARGV` in a fresh interpreter, its output to `log`; `mount`: behind that prefix (`read_only`,
    `on_full_disk`)."""
    command = [*(mount or []), sys.executable, "-m", "agora.cli.main", *argv]
    with log.open("a") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=limit)


def _finish(proc: subprocess.Popen, log: Path) -> str:
    proc.wait()
    return log.read_text(errors="replace")


_READONLY = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
# after the command, what it left on the tmpfs goes to the real folder: copied out, unmounted (lazily: a process of
# the command may still hold a file), moved in
_FULL = ('mount -t tmpfs -o size="$1" tmpfs "$0" && shift && { "$@"; rc=$?; cp -a "$0/." "$0.disk" && umount -l "$0" '
         '&& rmdir "$0" && mv "$0.disk" "$0"; exit $rc; }')
PAGE = 4096  # what a tmpfs counts a file's size in


def read_only(folder: Path) -> list[str]:
    """The prefix that runs a command with `folder` mounted read-only for it alone."""
    return ["unshare", "-m", "sh", "-c", _READONLY, str(folder)]


def on_full_disk(folder: Path, size: int) -> list[str]:
    """The prefix that runs a command with `folder` on a disk of `size` bytes (a tmpfs, for it alone); afterwards the
    folder holds what the command wrote there."""
    return ["unshare", "-m", "sh", "-c", _FULL, str(folder), str(size)]


def disk_used(folder: Path) -> int:
    """The bytes a tmpfs counts for the files under `folder` (whole pages)."""
    total = 0
    for p in folder.rglob("*"):
        try:
            total += -(-p.stat().st_size // PAGE) * PAGE if p.is_file() else 0
        except OSError:  # renamed or removed meanwhile
            continue
    return total


def can_mount(folder: Path) -> bool:
    """Whether this machine lets the harness mount a folder read-only or a tmpfs (root, mount namespaces allowed)."""
    folder.mkdir(parents=True, exist_ok=True)
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run([*read_only(folder), "touch", str(folder / "x")], capture_output=True, text=True)
    return probe.returncode != 0 and "Read-only" in probe.stderr and not (folder / "x").exists()


def _clear(output: str) -> bool:
    """Reported in one line: no traceback, and an `error:` line."""
    return "Traceback" not in output and any(line.startswith("error:") for line in output.splitlines())


def _file_limit(size: int) -> Callable[[], None]:
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (Linux /proc: each thread's children)."""
    found, todo = [], [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*/children"):
            try:
                kids = [int(k) for k in task.read_text().split()]
            except OSError:  # gone meanwhile
                continue
            found += kids
            todo += kids
    return found


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time of `pid` and every process below it, live or reaped: what the command has done so far, however
    busy the machine (a stopped or starved process gains none)."""
    total = 0
    for p in (pid, *descendants(pid)):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime, stime, and those of its reaped children
    return total / _TICK


POLL = 0.02  # seconds between looks at a running command's CPU time


@dataclass
class Reference:
    seconds: float  # wall time, for the record
    cpu_opened: float  # CPU seconds when the command had made its store
    cpu: float  # CPU seconds of the whole command
    used_opened: int  # bytes its store took (`disk_used`) when it had made it
    used: int  # and at the end
    results: dict[tuple[str, str], Counter]


def _env(folder: Path) -> dict:
    """The user's environment and model cache, with a call cache of the folder's own: no trial is served calls that
    another made, so each is killed at a point an uncached run passes. One torch thread unless the user set
    OMP_NUM_THREADS, as in the test suite's workers: trials share the machine, and on a busy one a second thread
    mostly spins (a run of `run` here: 15.5 CPU s with one thread, 31.9 with two)."""
    env = {"OMP_NUM_THREADS": "1", **os.environ, "AGORA_CACHE": str(folder / "calls.sqlite")}
    env.pop("AGORA_STORE", None)
    return env


def reference(case: Case, folder: Path) -> Reference:
    """The command uninterrupted: what it stores, its CPU time and the bytes its store takes (when it opened its
    store, and in all)."""
    folder.mkdir(parents=True)
    env, log, store = _env(folder), folder / "output.log", folder / "runs"
    start = time.perf_counter()
    proc = agora(case.argv(folder), env, log)
    opened, cpu = None, 0.0
    while proc.poll() is None:
        cpu = max(cpu, cpu_seconds(proc.pid))
        if opened is None and (store / INDEX).is_file():
            opened = cpu, disk_used(store)
        time.sleep(POLL)
    seconds = time.perf_counter() - start
    found = results(store, case.kinds)
    if proc.returncode != 0 or not found or opened is None:  # with nothing to compare, every trial would pass
        raise RuntimeError(f"{case.name}: the uninterrupted command failed or stored nothing:\n{log.read_text()[-2000:]}")
    return Reference(seconds, opened[0], cpu, opened[1], disk_used(store), found)


def kill_at(proc: subprocess.Popen, cpu: float) -> dict:
    """SIGKILL `proc` (only it, as a supervisor or the OOM killer would) once it has used `cpu` CPU seconds; then
    count its processes still alive 5 s on, and kill those."""
    while proc.poll() is None and cpu_seconds(proc.pid) < cpu:
        time.sleep(POLL)
    below = descendants(proc.pid)
    if proc.poll() is not None:
        return {"struck": False, "left_running": 0}
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline, left = time.monotonic() + 5, below
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [p for p in left if alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    return {"struck": True, "left_running": len(left)}


def alive(pid: int) -> bool:
    """Running, not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def trial(case: Case, fault: str, folder: Path, ref: Reference, draw: float, mounts: bool = False) -> dict:
    """One fault against one command, then the command a user runs next; what it cost. `draw` (uniform in [0, 1))
    places the kill or sizes the disk; `mounts`: whether the disk can be a tmpfs."""
    folder.mkdir(parents=True)
    env, log = _env(folder), folder / "output.log"
    store = folder / "runs"
    row = {"command": case.name, "fault": fault}
    if fault == "kill":
        # from when it made its store to 90% of its work: the end is left out, as a trial's run can take a little
        # less CPU than the reference's
        row["kill_cpu_s"] = round(ref.cpu_opened + 0.9 * draw * (ref.cpu - ref.cpu_opened), 2)
        start = time.perf_counter()
        row |= kill_at(agora(case.argv(folder), env, log), row["kill_cpu_s"])
        row["kill_wall_s"] = round(time.perf_counter() - start, 2)
        row["injected"], row["clear"] = row["struck"], None
        row["entries_at_kill"] = len(entries(store))
    else:
        if fault == "readonly":
            store.mkdir(parents=True)
            proc = agora(case.argv(folder), env, log, mount=read_only(store))
        elif mounts:
            store.mkdir(parents=True)
            size = ref.used_opened + draw * (0.95 * ref.used - ref.used_opened)
            row["disk_bytes"] = max(1, math.ceil(size / PAGE)) * PAGE
            proc = agora(case.argv(folder), env, log, mount=on_full_disk(store, row["disk_bytes"]))
        else:
            row["limit_bytes"] = int(256 * 256 ** draw)  # log-uniform in [256 B, 64 KB): parts are a few KB
            proc = agora(case.argv(folder), env, log, _file_limit(row["limit_bytes"]))
        out = _finish(proc, log)
        row["injected"] = proc.returncode != 0
        row["clear"] = _clear(out) if row["injected"] else None
        row["message"] = next((line for line in out.splitlines() if line.startswith("error:")), "")[:200]
    row["index_intact"] = intact(store)
    again = case.again(folder, entries(store))
    if again:
        again_log = folder / "again.log"
        proc = agora(again, env, again_log)
        out = _finish(proc, again_log)
        row["again_ok"] = proc.returncode == 0
        if not row["again_ok"]:
            row["again_error"] = out.strip().splitlines()[-1][:200] if out.strip() else f"exit {proc.returncode}"
    else:
        row["again_ok"] = True
    got = results(store, case.kinds)
    row["equal"] = got == ref.results
    row["rows"] = sum(rows.total() for rows in ref.results.values())
    row["rows_lost"] = lost(ref.results, got)
    row["index_intact"] = row["index_intact"] and intact(store)
    row["passed"] = bool(row["index_intact"] and row["again_ok"] and row["equal"] and row["clear"] is not False
                         and not row.get("left_running"))
    return row


def run_faults(folder: Path, trials: int, seed: int, commands: list[str], faults: list[str],
               report: Callable[[dict], None] = lambda row: None, jobs: int = 1) -> list[dict]:
    """`trials` trials spread over `commands` × `faults` (seeded), each in its own folder under `folder`, `jobs` at a
    time. Kill points are CPU times and every draw is made up front, so neither the machine's load nor the order in
    which trials finish changes a trial."""
    unknown = sorted(set(commands) - set(CASES)) + sorted(set(faults) - set(FAULTS))
    if unknown:
        raise ValueError(f"unknown command or fault {unknown[0]!r}; commands: {', '.join(CASES)}; faults: {', '.join(FAULTS)}")
    mounts = can_mount(folder / "probe")
    if "readonly" in faults and not mounts:
        faults = [f for f in faults if f != "readonly"] or ["kill"]
    rng = random.Random(seed)
    plan = [(n, commands[n % len(commands)], faults[(n // len(commands)) % len(faults)], rng.random()) for n in range(trials)]
    used = list(dict.fromkeys(command for _, command, _, _ in plan))
    with ThreadPoolExecutor(jobs) as pool:  # each trial waits on its own processes
        refs = dict(zip(used, pool.map(lambda c: reference(CASES[c], folder / f"reference-{c}"), used)))
        (folder / "references.json").write_text(json.dumps({c: {
            "argv": CASES[c].argv(folder / f"reference-{c}"), "wall_s": round(r.seconds, 2),
            "cpu_at_store_s": round(r.cpu_opened, 2), "cpu_s": round(r.cpu, 2), "bytes_at_store": r.used_opened,
            "bytes": r.used,
            "rows": sum(t.total() for t in r.results.values())} for c, r in refs.items()}, indent=1))
        futures = [pool.submit(trial, CASES[c], f, folder / f"trial-{n:03d}", refs[c], draw, mounts) for n, c, f, draw in plan]
        rows: dict[int, dict] = {}
        for future in as_completed(futures):
            n = futures.index(future)
            rows[n] = {"trial": n, **future.result()}
            report(rows[n])
            (folder / "faults.json").write_text(json.dumps([rows[k] for k in sorted(rows)], indent=1))  # a long run keeps its count
    return [rows[k] for k in sorted(rows)]
