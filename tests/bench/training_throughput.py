"""Training throughput and peak memory of the embedded tiny model, batch sizes side by side.

    python tests/bench/training_throughput.py [--examples 256]

Each configuration fine-tunes in its own process (so each peak RSS is its own) on the same
grammar-written examples; the table prints tokens/s and peak memory with ratios to the first row.
Not a test: nothing is asserted about speed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import tempfile
from pathlib import Path


def _one(batch: int, examples: int, queue) -> None:
    from agora.sim.scenario import Scenarios
    from agora.sim.tiny.control import TinyConfig, corpus
    from agora.training.controls import ensure_tiny
    from agora.training.config import TrainConfig
    from agora.training.finetune import fine_tune

    scenarios = Scenarios.load()
    base = ensure_tiny(scenarios, TinyConfig())
    rows = corpus(scenarios, TinyConfig(corpus_size=examples, seed=99))
    with tempfile.TemporaryDirectory() as tmp:
        stats = fine_tune(base, rows, TrainConfig(policy="tiny", epochs=1, batch_size=batch), Path(tmp) / "ckpt", {})
    queue.put({"batch": batch, **stats, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=256)
    parser.add_argument("--batches", default="8,16,32")
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    results = []
    for batch in map(int, args.batches.split(",")):
        queue = ctx.Queue()
        proc = ctx.Process(target=_one, args=(batch, args.examples, queue))
        proc.start()
        results.append(queue.get())
        proc.join()
    first = results[0]
    print(f"{'batch':>5} {'tokens/s':>10} {'x':>6} {'peak MB':>9} {'x':>6} {'steps':>6} {'loss':>7}")
    for r in results:
        print(f"{r['batch']:>5} {r['tokens_per_second']:>10,.0f} {r['tokens_per_second'] / first['tokens_per_second']:>6.2f}"
              f" {r['peak_mb']:>9,.0f} {r['peak_mb'] / first['peak_mb']:>6.2f} {r['steps']:>6} {r['loss']:>7.3f}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; full fine-tune of the embedded tiny model, 1 epoch of {args.examples} examples")


if __name__ == "__main__":
    main()
