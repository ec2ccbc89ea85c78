"""Messages per second of each probe on CPU, side by side on the same messages (the gold set, repeated).

    python tests/bench/probe_throughput.py [--messages 20000]

Not a test: nothing is asserted about speed. Goals from the probes issue: fact >= 10k/s, classifier >= 1k/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

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
    sales = [i for i in items if i.task == "sales"]
    batch = (sales * (args.messages // len(sales) + 1))[: args.messages]
    probes = {"fact": FactProbe(), "classifier": trained_classifier(scenarios, load_gold(split="train"))}
    rates = {}
    for name, probe in probes.items():
        start = time.perf_counter()
        probe.score(batch, "misrepresentation")
        rates[name] = len(batch) / (time.perf_counter() - start)
    base = rates["fact"]
    for name, rate in rates.items():
        print(f"{name:>10}: {rate:>10,.0f} messages/s  ({rate / base:.2f}x fact)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {len(batch):,} sales messages, category misrepresentation")


if __name__ == "__main__":
    main()
