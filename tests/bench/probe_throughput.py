"""Messages per second of each probe on CPU, side by side on the same messages (the gold set, repeated).

    python tests/bench/probe_throughput.py [--messages 20000]

Not a test: nothing is asserted about speed. Goals from the probes issue: fact >= 10k/s, classifier >= 1k/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import replace

from agora.probes.fact import FactProbe
from agora.probes.gold import gold_items, load_gold
from agora.probes.validate import trained_classifier
from agora.sim.scenario import Scenarios


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    scenarios = Scenarios.load()
    rows = load_gold()
    items = gold_items(rows, scenarios)
    fact, classifier = FactProbe(), trained_classifier(scenarios, load_gold(split="train"))
    runs = [("fact", fact, "sales", "misrepresentation"), ("classifier", classifier, "sales", "misrepresentation"),
            ("fact", fact, "election", "disinformation"), ("fact", fact, "social", "disinformation")]
    rates = []
    for name, probe, task, category in runs:
        of_task = [i for i in items if i.task == task]
        # distinct messages (a unique reference word in front), so that no per-message cache flatters a probe
        batch = [replace(item, message=f"Ref{n:06d}. {item.message}")
                 for n, item in enumerate((of_task * (args.messages // len(of_task) + 1))[: args.messages])]
        start = time.perf_counter()
        probe.score(batch, category)
        rates.append(len(batch) / (time.perf_counter() - start))
        print(f"{name:>10} {task:>8} {category:<18}: {rates[-1]:>10,.0f} messages/s  ({rates[-1] / rates[0]:.2f}x fact on sales)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {args.messages:,} distinct gold-set messages per line")


if __name__ == "__main__":
    main()
