"""A sweep's pool workers die with it: `kill -9` of `agora sweep` leaves no worker writing its cell."""

import os
import signal
import subprocess
import sys
import time

import yaml

from agora.bench.faults import alive, descendants


def test_a_killed_sweep_leaves_no_worker_running(tmp_path, tiny_path, small_tiny):
    sweep = tmp_path / "sweep.yaml"  # a cell far longer than the test: only the parent's death may end its worker
    sweep.write_text(yaml.safe_dump({"name": "orphans", "grid": {"seed": [1]}, "base": {
        "task": "sales", "contests": 5000, "policy": "tiny", "invalid": "judge", "tiny": small_tiny}}))
    env = {**os.environ, "AGORA_CACHE": str(tmp_path / "calls.sqlite")}
    proc = subprocess.Popen([sys.executable, "-m", "agora.cli.main", "sweep", str(sweep), "--workers", "1", "--store",
                             str(tmp_path / "runs")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while not workers and proc.poll() is None and time.monotonic() < deadline:  # spawned once its cell is submitted
            time.sleep(0.1)
            workers = [p for p in descendants(proc.pid) if b"multiprocessing.spawn" in _cmdline(p)]
        assert workers, "the sweep started no pool worker"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 60  # the worker may still be importing: it dies on reaching its cell
        while any(alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in workers if alive(p)], "a worker outlived the killed sweep"
    finally:
        proc.kill()
        for p in workers:
            if alive(p):
                os.kill(p, signal.SIGKILL)


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""
