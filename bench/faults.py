"""`agora faults`: Agora's own commands under faults at seeded random points, with what each fault cost.

Each trial starts a command in a fresh store, injects one fault, then runs what a user would run next (`--resume`
for a contest run, the same command otherwise) and compares the store with an uninterrupted run of the same
command. The faults:
- `kill`: SIGKILL at a uniform random time within the command's measured uninterrupted duration (halved and
  tried again when the command finishes first);
- `disk`: a full disk, as a file-size limit (RLIMIT_FSIZE) drawn log-uniformly between 256 B and 64 KB;
- `readonly`: the store on a read-only mount (a bind mount in a private mount namespace: `unshare -m`, as root).

A trial passes when the fault left the index intact (`PRAGMA integrity_check`), a disk or read-only fault was
reported in one line (no traceback), and the next command finished with every entry equal to the uninterrupted
run's. Rows lost are the uninterrupted run's rows that the store lacks at the end.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
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
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import yaml

from agora.sim.store import INDEX

# every table column that names where or when, not what: the same command twice differs there and nowhere else
# and what it cost: a resumed run's calls are fewer where the call cache served the replay
_VOLATILE = re.compile(r"run_id|path|checkpoint|second|time|_at$|^started|^finished|duration|pid|host|llm_|resumed")
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
        return ["audit", "--model", "smollm2", "--baseline", "smollm2", "--task", "sales", "--contests", "2",
                "--seed", "0", "--store", str(folder / "runs")]

    def train(folder):
        return ["train", "--policy", "smollm2", "--task", "sales", "--contests", "2", "--rounds", "1", "--epochs", "1",
                "--seed", "0", "--store", str(folder / "runs")]

    return {
        "run": Case("run", run, _resume, ("contest",)),
        "sweep": Case("sweep", sweep, _same(sweep), ("sweep", "contest")),
        "validate": Case("validate", validate, _same(validate), ("validation",)),
        "audit": Case("audit", audit, _same(audit), ("audit", "contest")),
        "train": Case("train", train, _same(train), ("train", "contest")),
    }


CASES = _cases()


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


def agora(argv: list[str], env: dict, limit: Callable[[], None] | None = None, readonly: Path | None = None) -> subprocess.Popen:
    """`agora ARGV` in a fresh interpreter; `readonly`: with that folder mounted read-only for it alone."""
    command = [sys.executable, "-m", "agora.cli.main", *argv]
    if readonly is not None:
        command = ["unshare", "-m", "sh", "-c", _READONLY, str(readonly), *command]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=limit)


_READONLY = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'


def can_mount_readonly(folder: Path) -> bool:
    """Whether this machine lets the harness mount a folder read-only (root, and mount namespaces allowed)."""
    folder.mkdir(parents=True, exist_ok=True)
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", _READONLY, str(folder), "touch", str(folder / "x")],
                           capture_output=True, text=True)
    return probe.returncode != 0 and "Read-only" in probe.stderr and not (folder / "x").exists()


def _clear(output: str) -> bool:
    """Reported in one line: no traceback, and an `error:` line."""
    return "Traceback" not in output and any(line.startswith("error:") for line in output.splitlines())


def _file_limit(size: int) -> Callable[[], None]:
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


@dataclass
class Reference:
    seconds: float
    results: dict[tuple[str, str], Counter]


def _env(folder: Path) -> dict:
    """The user's environment and model cache, with a call cache of the folder's own: no trial is served calls that
    another made, so each is killed at a point an uncached run passes."""
    env = {**os.environ, "AGORA_CACHE": str(folder / "calls.sqlite")}
    env.pop("AGORA_STORE", None)
    return env


def reference(case: Case, folder: Path) -> Reference:
    folder.mkdir(parents=True)
    env = _env(folder)
    start = time.perf_counter()
    proc = agora(case.argv(folder), env)
    out, _ = proc.communicate()
    found = results(folder / "runs", case.kinds)
    if proc.returncode != 0 or not found:  # with nothing to compare, every trial would pass
        raise RuntimeError(f"{case.name}: the uninterrupted command failed or stored nothing:\n{out[-2000:]}")
    return Reference(time.perf_counter() - start, found)


def trial(case: Case, fault: str, folder: Path, ref: Reference, rng: random.Random) -> dict:
    """One fault against one command, then the command a user runs next; what it cost."""
    folder.mkdir(parents=True)
    env = _env(folder)
    store = folder / "runs"
    row = {"command": case.name, "fault": fault}
    if fault == "kill":
        at = rng.uniform(0.1, 0.9) * ref.seconds
        for attempt in range(4):  # a command that beat the kill (a quieter machine than the reference's) is tried again
            shutil.rmtree(store, ignore_errors=True)
            Path(env["AGORA_CACHE"]).unlink(missing_ok=True)  # nor may an attempt serve the next one's calls
            proc = agora(case.argv(folder), env)
            try:
                proc.wait(timeout=at)
                row["injected"] = False
                at /= 2
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                row["injected"] = True
                break
        row["at_s"], row["attempts"], row["clear"] = round(at, 2), attempt + 1, None
    else:
        if fault == "readonly":
            store.mkdir(parents=True)
            proc = agora(case.argv(folder), env, readonly=store)
        else:
            row["limit_bytes"] = int(math.exp(rng.uniform(math.log(256), math.log(65_536))))  # parts are a few KB
            proc = agora(case.argv(folder), env, _file_limit(row["limit_bytes"]))
        out, _ = proc.communicate()
        row["injected"] = proc.returncode != 0
        row["clear"] = _clear(out) if row["injected"] else None
        row["message"] = next((line for line in out.splitlines() if line.startswith("error:")), "")[:200]
    row["index_intact"] = intact(store)
    again = case.again(folder, entries(store))
    if again:
        proc = agora(again, env)
        out, _ = proc.communicate()
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
    row["passed"] = bool(row["index_intact"] and row["again_ok"] and row["equal"] and row["clear"] is not False)
    return row


def run_faults(folder: Path, trials: int, seed: int, commands: list[str], faults: list[str],
               report: Callable[[dict], None] = lambda row: None) -> list[dict]:
    """`trials` trials spread over `commands` × `faults` (seeded), each in its own folder under `folder`."""
    unknown = sorted(set(commands) - set(CASES)) + sorted(set(faults) - set(FAULTS))
    if unknown:
        raise ValueError(f"unknown command or fault {unknown[0]!r}; commands: {', '.join(CASES)}; faults: {', '.join(FAULTS)}")
    if "readonly" in faults and not can_mount_readonly(folder / "probe"):
        faults = [f for f in faults if f != "readonly"] or ["kill"]
    rng = random.Random(seed)
    plan = [(commands[i % len(commands)], faults[(i // len(commands)) % len(faults)]) for i in range(trials)]
    refs: dict[str, Reference] = {}
    rows = []
    for n, (command, fault) in enumerate(plan):
        if command not in refs:
            refs[command] = reference(CASES[command], folder / f"reference-{command}")
        row = {"trial": n, **trial(CASES[command], fault, folder / f"trial-{n:03d}", refs[command], rng)}
        rows.append(row)
        report(row)
        (folder / "faults.json").write_text(json.dumps(rows, indent=1))  # after every trial: a long run keeps its count
    return rows
