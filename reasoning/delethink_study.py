"""Delethink vs one long generation (`agora reasoning delethink`): time and peak memory as total thinking length grows.

The model is a freshly initialised Llama-architecture model (random weights, eos disabled so every run writes
exactly its budget; max_position_embeddings large enough for the longest run). That is honest here: time and
memory depend on the architecture and the lengths, not on what the weights say. For each iteration cap I,
Delethink (chunk C, carry-over m = C/2) writes C + (I − 1)(C − m) tokens; the long generation writes the same
number in one `generate` call. With `isolate` each run is its own process, so its peak RSS is its own; "KV cache"
is the largest context any forward pass attended to, times the model's per-token K/V bytes (what a DynamicCache
holds).
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
from queue import SimpleQueue

import pandas as pd
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from agora.reasoning.delethink import DelethinkConfig, delethink, hf_generator
from agora.reasoning.settings import DelethinkSettings
from agora.reasoning.study import Progress, StudyResult, one_thread

MODEL = {"hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 4, "num_attention_heads": 4,
         "num_key_value_heads": 4, "vocab_size": 512}
METHODS = ("long", "delethink")


def measure(method: str, iterations: int, s: DelethinkSettings, queue) -> None:
    """One generation (`long` or `delethink`) at iteration cap I; its row goes into `queue`."""
    torch.set_num_threads(1)
    torch.manual_seed(s.seed)
    config = DelethinkConfig(chunk_size=s.chunk, carryover=s.chunk // 2, iterations=iterations, head=s.head)
    model = LlamaForCausalLM(LlamaConfig(**MODEL, max_position_embeddings=config.budget + 2 * s.chunk,
                                         attn_implementation="sdpa")).eval()
    model.generation_config.eos_token_id = None  # write the whole budget
    query = torch.randint(0, MODEL["vocab_size"], (s.query,)).tolist()
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


def run(s: DelethinkSettings, progress: Progress | None = None) -> StudyResult:
    """Both methods at every iteration cap; table `lengths`, one row per thinking length."""
    ctx = mp.get_context("spawn")
    runs = [(iterations, method) for iterations in s.lengths for method in METHODS]
    rows = []
    with one_thread() as machine:
        for done, (iterations, method) in enumerate(runs, 1):
            if s.isolate:
                queue = ctx.Queue()
                proc = ctx.Process(target=measure, args=(method, iterations, s, queue))
                proc.start()
                rows.append({"I": iterations, **queue.get()})
                proc.join()
            else:
                queue = SimpleQueue()
                measure(method, iterations, s, queue)
                rows.append({"I": iterations, **queue.get()})
            if progress:
                progress(done, len(runs))
    table = pd.DataFrame(rows).pivot(index="thinking", columns="method", values=["seconds", "context", "kv_mb", "rss_growth_mb"])
    table.columns = [f"{v} {m}" for v, m in table.columns]
    table["time D/L"] = table["seconds delethink"] / table["seconds long"]
    table["kv D/L"] = table["kv_mb delethink"] / table["kv_mb long"]
    first = table.iloc[0]
    table["long time x first"] = table["seconds long"] / first["seconds long"]
    table["delethink time x first"] = table["seconds delethink"] / first["seconds delethink"]
    table["length x first"] = table.index / table.index[0]
    header = (f"Delethink (C {s.chunk}, m {s.chunk // 2}, head {s.head}) vs one long generation; query {s.query} "
              f"tokens; random-init Llama {MODEL}; greedy, fp32, 1 thread; seed {s.seed}")
    notes = ["seconds = wall time of the generation; context = most tokens one forward pass attended to; kv_mb = that "
             "context's K/V cache; rss_growth_mb = growth of the process's peak RSS during the generation"]
    return StudyResult("delethink", s, {"lengths": table.reset_index()}, header, ".2f", notes, machine)
