"""Delethink vs one long generation: time and peak memory as total thinking length grows.

    python tests/bench/reasoning_delethink.py [--lengths 1,3,7,15] [--chunk 512] [--seed 0] [--quick]

The model is a freshly initialised Llama-architecture model (random weights, eos disabled so every run writes
exactly its budget; max_position_embeddings large enough for the longest run). That is honest here: time and
memory depend on the architecture and the lengths, not on what the weights say. For each iteration cap I,
Delethink (chunk C, carry-over m = C/2) writes C + (I − 1)(C − m) tokens; the long generation writes the same
number in one `generate` call. Each run is its own process, so its peak RSS is its own; "KV cache" is the
largest context any forward pass attended to, times the model's per-token K/V bytes (what a DynamicCache holds).
Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import time
from queue import SimpleQueue

MODEL = {"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 4, "num_attention_heads": 4,
         "num_key_value_heads": 4, "vocab_size": 512}


def _one(method: str, iterations: int, args, queue) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from agora.reasoning.delethink import DelethinkConfig, delethink, hf_generator

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    config = DelethinkConfig(chunk_size=args.chunk, carryover=args.chunk // 2, iterations=iterations, head=args.head)
    model = LlamaForCausalLM(LlamaConfig(**MODEL, max_position_embeddings=config.budget + 2 * args.chunk,
                                         attn_implementation="sdpa")).eval()
    model.generation_config.eos_token_id = None  # write the whole budget
    query = torch.randint(0, MODEL["vocab_size"], (args.query,)).tolist()
    generate = hf_generator(model, pad_token_id=0)
    generate(query, 4)  # warm-up outside the measurement
    attended = [0]

    def count(module, a, kwargs):
        cache = kwargs.get("cache", kwargs.get("past_key_values"))
        attended[0] = max(attended[0], kwargs["input_ids"].shape[1] + (cache.get_seq_length() if cache is not None else 0))

    model.register_forward_pre_hook(count, with_kwargs=True)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if method == "delethink":
        written = len(delethink(generate, query, config, eos_token_id=None).thinking)
    else:
        written = len(generate(query, config.budget))
    seconds = time.perf_counter() - started
    kv_bytes = attended[0] * MODEL["num_hidden_layers"] * 2 * MODEL["hidden_size"] * 4  # K and V, fp32
    queue.put({"method": method, "thinking": written, "seconds": seconds, "context": attended[0],
               "kv_mb": kv_bytes / 2**20, "rss_growth_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024})


def main() -> None:
    import random

    import pandas as pd
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lengths", default="1,3,7,15", help="iteration caps I; thinking = C + (I-1)(C-m)")
    parser.add_argument("--chunk", type=int, default=512, help="C (m = C/2)")
    parser.add_argument("--head", type=int, default=32, help="tokens of the first chunk kept")
    parser.add_argument("--query", type=int, default=64, help="query tokens")
    parser.add_argument("--quick", action="store_true", help="a few seconds, in one process: C 64, I 1 and 3")
    args = parser.parse_args()
    if args.quick:
        args.chunk, args.head, args.lengths, args.query = 64, 8, "1,3", 16
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    ctx = mp.get_context("spawn")
    rows = []
    for iterations in map(int, args.lengths.split(",")):
        for method in ("long", "delethink"):
            if args.quick:  # in this process: no start-up cost, but the peak RSS is shared across runs
                queue = SimpleQueue()
                _one(method, iterations, args, queue)
            else:
                queue = ctx.Queue()
                proc = ctx.Process(target=_one, args=(method, iterations, args, queue))
                proc.start()
            rows.append({"I": iterations, **queue.get()})
            if not args.quick:
                proc.join()
    table = pd.DataFrame(rows).pivot(index="thinking", columns="method", values=["seconds", "context", "kv_mb", "rss_growth_mb"])
    table.columns = [f"{v} {m}" for v, m in table.columns]
    table["time D/L"] = table["seconds delethink"] / table["seconds long"]
    table["kv D/L"] = table["kv_mb delethink"] / table["kv_mb long"]
    first = table.iloc[0]
    table["long time x first"] = table["seconds long"] / first["seconds long"]
    table["delethink time x first"] = table["seconds delethink"] / first["seconds delethink"]
    table["length x first"] = table.index / table.index[0]
    print(f"Delethink (C {args.chunk}, m {args.chunk // 2}, head {args.head}) vs one long generation; query {args.query} "
          f"tokens; random-init Llama {MODEL}; greedy, fp32, 1 thread; seed {args.seed}")
    print(table.reset_index().to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print("columns: seconds = wall time of the generation; context = most tokens one forward pass attended to; kv_mb = that "
          "context's K/V cache; rss_growth_mb = growth of the process's peak RSS during the generation")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs (torch threads 1), torch {torch.__version__}")


if __name__ == "__main__":
    main()
