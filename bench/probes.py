"""`agora bench probes`: messages per second of each probe, side by side on the same messages of both gold sets.

Each message is made distinct (a reference word in front), so no per-message cache flatters a probe; each
probe reads its category on the messages of its task. Printed with the ratio to the fact probe on sales
(hand-written gold), the slowest case it has to serve in sweeps, and for the fact probe with the ratio of its
checks run one by one with Python's cyclic collector running (`score` pauses it for a batch).
"""

from __future__ import annotations

import time
from dataclasses import replace

from rich.console import Console
from rich.table import Table

from agora.probes.fact import FactProbe
from agora.probes.gold import GOLD_SETS, gold_items, load_gold
from agora.probes.manipulation import ManipulationProbe
from agora.probes.populism import PopulismProbe
from agora.probes.validate import trained_classifier
from agora.sim.scenario import Scenarios

CASES = [("fact", "sales", "misrepresentation"), ("fact", "election", "disinformation"),
         ("fact", "social", "disinformation"), ("populism", "election", "populism"),
         ("classifier", "social", "unsafe_encouragement"), ("manipulation", "sales", "audience_manipulation")]


def rates(messages: int = 2000, repeats: int = 5, scenarios: Scenarios | None = None) -> list[dict]:
    """The best of `repeats` timed passes, each over messages none of the others held (a shared machine's noise
    only ever slows a pass down; caches of what words and sources mean warm up as in any sweep)."""
    scenarios = scenarios or Scenarios.load()
    probes = {"fact": FactProbe(), "populism": PopulismProbe(), "classifier": trained_classifier(scenarios),
              "manipulation": ManipulationProbe()}
    out = []
    for gold, path in GOLD_SETS.items():
        items = gold_items(load_gold(path), scenarios)
        for name, task, category in CASES:
            of_task = [i for i in items if i.task == task]
            best, collecting = float("inf"), float("inf")
            for repeat in range(repeats):
                batch = [replace(item, message=f"Ref{repeat}{n:06d}. {item.message}")
                         for n, item in enumerate((of_task * (messages // len(of_task) + 1))[:messages])]
                start = time.perf_counter()
                probes[name].score(batch, category)
                best = min(best, time.perf_counter() - start)
                if name == "fact":  # the same checks one by one, the cyclic collector running as `score` pauses it
                    again = [replace(item, message="Again" + item.message) for item in batch]
                    start = time.perf_counter()
                    [probes[name].check(item, category) for item in again]
                    collecting = min(collecting, time.perf_counter() - start)
            out.append({"gold": gold, "probe": name, "task": task, "category": category, "messages": len(batch),
                        "chars": round(sum(len(i.message) for i in batch) / len(batch)), "per_second": len(batch) / best,
                        "collecting_per_second": len(batch) / collecting if name == "fact" else None})
    return out


def probes_bench(console: Console, messages: int = 2000, repeats: int = 5) -> list[dict]:
    found = rates(messages, repeats)
    first = found[0]["per_second"]
    table = Table(title=f"probe throughput: the best of {repeats} passes of {messages:,} distinct messages per row")
    for col in ("gold set", "probe", "task", "category", "mean chars", "messages/s", "× fact on sales (hand)",
                "× collector running"):
        table.add_column(col, justify="left" if col in ("gold set", "probe", "task", "category") else "right")
    for r in found:
        collecting = r["collecting_per_second"]
        table.add_row(r["gold"], r["probe"], r["task"], r["category"], str(r["chars"]), f"{r['per_second']:,.0f}",
                      f"{r['per_second'] / first:.2f}", f"{collecting / r['per_second']:.2f}" if collecting else "")
    console.print(table)
    return found
