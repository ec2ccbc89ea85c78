"""`agora bench`: audience throughput measured side by side in one run, printed as ratios.

Parametric judgments/s, and LLM-audience judgments/s with all 20 ballots of a contest in one
batch versus one backend call per persona — the batching that the LLM path depends on.
"""

from __future__ import annotations

import os
import platform
import random
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agora.sim.audience.base import Ballot
from agora.sim.audience.llm import LLMAudience
from agora.sim.audience.parametric import ParametricAudience
from agora.sim.scenario import Scenarios
from agora.sim.tiny.build import TinyConfig
from agora.sim.tiny.grammar import load_bank, write_message


def contest_ballots(scenarios: Scenarios, task: str, contests: int, seed: int = 0):
    """(anchor, 20 ballots) per contest, over grammar-written message pairs on train anchors."""
    rng = random.Random(seed)
    bank = load_bank(scenarios.root / "corpus", task)
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
    from agora.sim.tiny.judge import ensure_judge

    import torch

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
    console.print(f"LLM audience, batched vs one call per persona: [bold]{ratio:.1f}×[/]")
    console.print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {'cuda' if torch.cuda.is_available() else 'cpu'}"
    )
    return {**results, "batched_over_per_persona": ratio}
