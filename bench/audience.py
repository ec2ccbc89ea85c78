"""`agora bench`: costs measured side by side in one run, printed as ratios, with the machine they ran on.

- audience: parametric judgments/s, and LLM-audience judgments/s with all 20 ballots of a contest in one
  batch, with every contest's ballots in one batch, and with one backend call per persona;
- cache: a contest run with the LLM audience, then the same run again served from the call cache;
- engines: the same small sweep on the local process pool and on a local Ray, per-cell cost.
"""

from __future__ import annotations

import os
import platform
import random
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agora.sim.audience.base import Ballot
from agora.sim.audience.llm import LLMAudience
from agora.sim.audience.parametric import ParametricAudience
from agora.sim.scenario import Scenarios
from agora.sim.tiny.control import TinyConfig
from agora.sim.tiny.grammar import load_bank, write_message


def contest_ballots(scenarios: Scenarios, task: str, contests: int, seed: int = 0):
    """(anchor, 20 ballots) per contest, over grammar-written message pairs on train anchors."""
    rng = random.Random(seed)
    spec = scenarios.task(task)
    bank = load_bank(scenarios.root / "corpus", spec.corpus, spec.anchor_kind)
    out = []
    for _ in range(contests):
        anchor = rng.choice(scenarios.anchors(task, "train"))
        a, b = (write_message(bank, anchor, rng) for _ in range(2))
        out.append((anchor, [Ballot(p, a, b) for p in scenarios.personas]))
    return out


def _rate(fn, n: int) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def audience_bench(console: Console, scenarios_dir: Path | None, contests: int, task: str = "sales") -> dict:
    from agora.sim.backends.hf import HFBackend
    from agora.training.tiny_judge import ensure_judge

    scenarios = Scenarios.load(scenarios_dir)
    spec = scenarios.task(task)
    work = contest_ballots(scenarios, task, contests)
    n = sum(len(b) for _, b in work)
    parametric = ParametricAudience(scenarios.root / "audience" / "parametric.yaml")
    llm = LLMAudience(HFBackend(ensure_judge(scenarios, TinyConfig())))
    llm.judge(spec, work[0][0], work[0][1][:2], seed=0)  # warm-up

    results = {
        "parametric": _rate(lambda: [parametric.judge(spec, a, b, seed=i) for i, (a, b) in enumerate(work)], n),
        "llm_batched": _rate(lambda: [llm.judge(spec, a, b, seed=i) for i, (a, b) in enumerate(work)], n),
        "llm_all_contests_batched": _rate(lambda: llm.judge_many(spec, [(a, b, i) for i, (a, b) in enumerate(work)]), n),
        "llm_per_persona": _rate(
            lambda: [llm.judge(spec, a, [ballot], seed=i) for i, (a, b) in enumerate(work) for ballot in b], n
        ),
    }
    table = Table(title=f"audience throughput — {task}, {contests} contests × 20 personas")
    table.add_column("audience")
    table.add_column("judgments/s", justify="right")
    for name, rate in results.items():
        table.add_row(name, f"{rate:,.1f}")
    console.print(table)
    ratio = results["llm_batched"] / results["llm_per_persona"]
    many = results["llm_all_contests_batched"] / results["llm_per_persona"]
    console.print(f"LLM audience vs one call per persona: a contest per batch [bold]{ratio:.1f}×[/], all {contests} "
                  f"contests in one batch [bold]{many:.1f}×[/] (goal ≥ 10×)")
    return {**results, "batched_over_per_persona": ratio, "all_contests_over_per_persona": many}


def machine() -> str:
    import torch

    return (f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads, {'cuda' if torch.cuda.is_available() else 'cpu'}")


def cache_bench(console: Console, contests: int, task: str = "sales") -> dict:
    """First run (every call made) vs the identical run again (every call a cache hit), in a fresh cache."""
    from agora.sim.config import RunConfig
    from agora.sim.runner import start_run
    from agora.sim.store import RunStore

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["AGORA_CACHE"] = str(Path(tmp) / "calls.sqlite")
        try:
            store = RunStore(Path(tmp) / "runs")
            config = RunConfig(task=task, contests=contests, audience="llm:tiny")
            times = []
            for _ in range(2):
                started = time.perf_counter()
                start_run(config, store)
                times.append(time.perf_counter() - started)
            calls = [m["llm_calls"] for m in store.list()["metrics"]]
        finally:
            del os.environ["AGORA_CACHE"]
    ratio = times[1] / times[0]
    console.print(f"cache — {task}, {contests} contests, LLM audience: first run {times[0]:.1f} s ({calls[0]} calls), "
                  f"cached re-run {times[1]:.2f} s ({calls[1]} calls): [bold]{ratio:.1%}[/] of the first (goal ≤ 5%)",
                  highlight=False)
    return {"first_s": times[0], "cached_s": times[1], "cached_over_first": ratio}


def engines_bench(console: Console, cells: int, contests: int) -> dict:
    """The same sweep on the local pool and on Ray (started beforehand: its start-up is not per-cell cost)."""
    from agora.experiments.engines import LocalEngine, RayEngine
    from agora.sim.store import RunStore
    from agora.experiments.sweep import Sweep, SweepSpec

    plan = Sweep(SweepSpec(name="bench", base={"task": "sales", "contests": contests, "cache": False},
                           grid={"seed": list(range(cells))}))
    per_cell = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in (("local pool", LocalEngine), ("ray", RayEngine)):
            engine = make(workers=min(cells, os.cpu_count() or 1))
            jobs = [(i, plan.run_id(i), c.model_dump(mode="json"), {}) for i, c in enumerate(plan.configs)]
            started = time.perf_counter()
            engine.run(jobs, RunStore(Path(tmp) / name.replace(" ", "-")).root, None, None, lambda _: None)
            per_cell[name] = (time.perf_counter() - started) / cells
    ratio = per_cell["ray"] / per_cell["local pool"]
    console.print(f"engines — {cells} cells × {contests} contests: local pool {per_cell['local pool']:.2f} s/cell, "
                  f"ray {per_cell['ray']:.2f} s/cell: ray/local [bold]{ratio:.2f}×[/] (goal ≤ 1.3×)", highlight=False)
    return {**{f"{k} s/cell": v for k, v in per_cell.items()}, "ray_over_local": ratio}
