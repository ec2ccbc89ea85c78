"""Where a sweep's cells run: a local process pool (default) or Ray (`[distributed]` extra), one scheduler.

Both execute the same `run_cell` on the same (run id, config) pairs; every cell is a deterministic function of
its config and seed, so the tables do not depend on the engine. The scheduler keeps at most `slots` cells in
flight and shares a sweep budget out as it goes: each cell may use an equal share of what is left.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from agora.sim.errors import AgoraError
from agora.experiments.sweep import Report, orphan_guard, run_cell

Job = tuple[int, str, dict, dict]  # (cell, run id, config, stages)


class Engine:
    """Subclasses provide `slots`, `submit(*args) -> handle`, `wait_one(handles) -> (handle, result)`, `close()`."""

    slots: int

    def run(self, jobs: list[Job], store_root, max_calls: int | None, max_tokens: int | None, report: Report) -> dict[int, dict]:
        threads = max(1, (os.cpu_count() or 1) // self.slots)
        queue, pending, results = list(jobs), {}, {}
        spent = {"calls": 0, "tokens": 0}
        allotted: dict[int, dict] = {}
        try:
            while queue or pending:
                while queue and len(pending) < self.slots:
                    cell, run_id, config, stages = queue.pop(0)
                    share = {k: _share(limit, spent[k], [a[k] for a in allotted.values()], len(queue) + 1)
                             for k, limit in (("calls", max_calls), ("tokens", max_tokens))}
                    if any(v is not None and v <= 0 for v in share.values()):
                        results[cell] = {"run_id": run_id, "status": "skipped: sweep budget", "contests_done": 0, "metrics": {}}
                        report(results[cell])
                        continue
                    handle = self.submit(str(store_root), run_id, config, share["calls"], share["tokens"], threads, stages)
                    pending[handle] = (cell, run_id)
                    allotted[cell] = share
                handle, result = self.wait_one(list(pending))
                cell, run_id = pending.pop(handle)
                allotted.pop(cell, None)
                if isinstance(result, BaseException):
                    result = {"run_id": run_id, "status": "failed", "contests_done": 0, "metrics": {}, "error": str(result)}
                metrics = result.get("metrics") or {}
                for k in ("calls", "tokens"):  # what the cell spent: its tables' calls and those a kill cut short
                    spent[k] += (metrics.get(f"llm_{k}", 0) or 0) + (metrics.get(f"llm_{k}_lost", 0) or 0)
                results[cell] = result
                report(result)
        finally:
            self.close()
        return results


def _share(limit: int | None, spent: int, reserved: list[int | None], cells_left: int) -> int | None:
    if limit is None:
        return None
    return (limit - spent - sum(r or 0 for r in reserved)) // cells_left


class LocalEngine(Engine):
    """A process pool sized to the machine; workers are spawned (not forked) so no torch state is shared."""

    def __init__(self, workers: int | None = None):
        self.slots = max(1, workers or os.cpu_count() or 1)
        self.pool = ProcessPoolExecutor(self.slots, mp_context=multiprocessing.get_context("spawn"), initializer=orphan_guard)

    def submit(self, *args):
        return self.pool.submit(run_cell, *args)

    def wait_one(self, handles):
        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        future = next(iter(done))
        return future, future.exception() or future.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class RayEngine(Engine):
    """Ray tasks, one CPU each: on an existing cluster (`address`), or on a local Ray started on loopback."""

    def __init__(self, address: str | None = None, workers: int | None = None):
        try:
            import ray
        except ImportError:
            raise AgoraError("--engine ray needs Ray: pip install -e '.[distributed]'") from None
        if address:
            _check_reachable(address)
        self.ray = ray
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False, log_to_driver=False,
                     _node_ip_address="127.0.0.1")
        self.slots = max(1, workers or int(ray.cluster_resources().get("CPU", 1)))
        self.remote = ray.remote(num_cpus=1, max_retries=0)(run_cell)

    def submit(self, *args):
        return self.remote.remote(*args)

    def wait_one(self, handles):
        [ref], _ = self.ray.wait(handles, num_returns=1)
        try:
            return ref, self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as err:
            return ref, err.cause if isinstance(err.cause, BaseException) else RuntimeError(str(err))

    def close(self) -> None:
        self.ray.shutdown()


def _check_reachable(address: str) -> None:
    """Fail in seconds with a plain message, before Ray's own long connection retries."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=5):
            pass
    except (OSError, ValueError):
        raise AgoraError(f"--ray-address {address}: no Ray cluster answers there (expected HOST:PORT of a running "
                         "`ray start --head`)") from None


def make_engine(name: str, ray_address: str | None = None, workers: int | None = None) -> Engine:
    if name == "local":
        if ray_address:
            raise AgoraError("--ray-address only applies to --engine ray")
        return LocalEngine(workers)
    if name == "ray":
        return RayEngine(ray_address, workers)
    raise AgoraError(f"--engine: unknown engine {name!r}; use local or ray")
