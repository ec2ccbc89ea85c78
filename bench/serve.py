"""`agora bench serve`: the local llama.cpp server (`agora serve`) measured side by side in one run.

- generation: the same prompts through a server with 1 slot and with 8 slots (llama.cpp decodes the slots'
  requests in one batch), generated tokens/s from the server's own usage counts;
- audience: LLM-audience judgments/s through the 8-slot server, and the share of prompt tokens it served from
  its prompt cache. The voter prompt starts with the system line, the role-play instructions and the persona's
  biography, so a persona's prefix computed in one contest can be reused in the next.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from rich.console import Console

from agora.sim.audience.llm import LLMAudience
from agora.sim.backends.base import Sampling
from agora.sim.backends.openai_compat import USAGE_KEYS, OpenAIBackend
from agora.bench.audience import contest_ballots
from agora.sim.scenario import Scenarios
from agora.sim.serve import LocalServer

SLOTS = (1, 8)


def serve_bench(console: Console, scenarios_dir: Path | None = None, contests: int = 3, task: str = "sales",
                prompts: int = 32, max_new_tokens: int = 64, gguf: Path | None = None) -> dict:
    scenarios = Scenarios.load(scenarios_dir)
    anchors = scenarios.anchors(task, "train")
    work = [f"Write a short, persuasive message about this:\n{anchors[i % len(anchors)].text}" for i in range(prompts)]
    sampling = Sampling(temperature=0.7, max_new_tokens=max_new_tokens, seed=0)
    results: dict = {}
    for slots in SLOTS:
        with LocalServer(gguf, parallel=slots, ctx_size=2048) as server:
            backend = OpenAIBackend(server.model, server.url, concurrency=max(SLOTS))  # one client: only slots differ
            backend.generate(["Hello."], Sampling(temperature=0, max_new_tokens=1))  # warm-up
            started = time.perf_counter()
            backend.generate(work, sampling)
            results[f"tokens/s, {slots} slot{'s' if slots > 1 else ''}"] = (
                backend.last_usage["completion_tokens"] / (time.perf_counter() - started))
            if slots == max(SLOTS):
                results.update(_audience(backend, scenarios, task, contests))
        threads = server.threads
    ratio = results["tokens/s, 8 slots"] / results["tokens/s, 1 slot"]
    console.print(f"local server — {server.model}, {threads} CPU thread{'s' if threads > 1 else ''}, {prompts} prompts × "
                  f"≤{max_new_tokens} tokens: 1 slot {results['tokens/s, 1 slot']:.1f} tokens/s, 8 slots "
                  f"{results['tokens/s, 8 slots']:.1f} tokens/s: [bold]{ratio:.2f}×[/]", highlight=False)
    console.print(f"LLM audience through the server — {task}, {contests} contests × 20 personas: "
                  f"[bold]{results['judgments/s']:.2f} judgments/s[/], {results['abstentions']} abstentions; prompt cache "
                  f"served [bold]{results['cached share']:.0%}[/] of {results['prompt tokens']:,} prompt tokens",
                  highlight=False)
    return {**results, "slots_8_over_1": ratio, "load_average": os.getloadavg()[0]}


def _audience(backend: OpenAIBackend, scenarios: Scenarios, task: str, contests: int) -> dict:
    """Contest by contest, as a run judges them; usage is the server's, summed over every call (retries included)."""
    spec = scenarios.task(task)
    audience = LLMAudience(backend)
    before = dict(backend.usage)
    started = time.perf_counter()
    judged = [audience.judge(spec, anchor, ballots, seed=i)
              for i, (anchor, ballots) in enumerate(contest_ballots(scenarios, task, contests))]
    seconds = time.perf_counter() - started
    used = {k: backend.usage[k] - before[k] for k in USAGE_KEYS}
    n = sum(len(j) for j in judged)
    return {"judgments/s": n / seconds, "abstentions": sum(j.vote is None for js in judged for j in js),
            "prompt tokens": used["prompt_tokens"], "cached share": used["cached_tokens"] / max(used["prompt_tokens"], 1)}
