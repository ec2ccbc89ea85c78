"""`agora bench models`: the embedded policy's generation cost, and the packaged models side by side as policies.

- batching: the default policy's generated tokens/s with every prompt in one `generate` call, against the same
  prompts, seeds and sampling one prompt per call (each prompt draws from its own seed, so both write the same);
- policies: each model in each prompt format on the test anchors of every task: tokens/s, and per message
  whether it names its anchor, whether it invents a number (`facts.number_spans`), its length in words, and
  whether it parsed cleanly (`parse_status == "ok"`: under `study`, the message came inside its tag).

Tokens are the completions re-tokenised by the model's own tokenizer, so padding and end tokens never count.
Times are printed, never checked: the ratios are what carries from one machine to another.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from agora.sim.backends.base import Sampling, prompt_seeds
from agora.sim.facts import names_anchor, number_spans
from agora.sim.policy import ChatPolicy, load_policy
from agora.sim.scenario import Scenarios
from agora.sim.schema import Anchor, TaskSpec

MODELS = {"smollm2": "smollm2", "gemma3-270m": "gemma3-270m"}  # label -> backend spec or packaged model name
FORMATS = ("plain", "study")


@dataclass
class Generation:
    texts: list[str]  # one completion per prompt
    tokens: int  # generated tokens, as the model's tokenizer counts the completions
    seconds: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


def count_tokens(tokenizer, texts: list[str]) -> int:
    return sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]) if texts else 0


def timed_generation(policy: ChatPolicy, prompts: list, sampling: Sampling, seeds: list[int], batched: bool = True) -> Generation:
    """All prompts in one `generate` call, or one call per prompt, each prompt sampled from its own seed."""
    backend = policy.backend
    started = time.perf_counter()
    if batched:
        texts = backend.generate(prompts, sampling, seeds)
    else:
        texts = [backend.generate([p], sampling, [s])[0] for p, s in zip(prompts, seeds)]
    seconds = time.perf_counter() - started
    return Generation(texts, count_tokens(backend.tokenizer, texts), seconds)


def message_scores(policy: ChatPolicy, task: TaskSpec, anchors: list[Anchor], texts: list[str]) -> dict:
    """Shares over the messages (each in [0, 1]) and their mean length in words."""
    written = [policy.parse(task, a, t) for a, t in zip(anchors, texts)]
    n = max(len(written), 1)
    return {
        "messages": len(written),
        "names_anchor": sum(names_anchor(w.text, a) for w, a in zip(written, anchors)) / n,
        "invented_number": sum(any(not s.in_anchor for s in number_spans(w.text, a)) for w, a in zip(written, anchors)) / n,
        "mean_words": sum(len(w.text.split()) for w in written) / n,
        "parse_ok": sum(w.parse_status == "ok" for w in written) / n,
    }


def _spec(model: str) -> str:
    """A backend spec for a label: a registered kind (`smollm2`), a packaged model (converted), or a spec."""
    from agora.sim.backends.embedded import PACKAGED, ensure_packaged
    from agora.sim.backends.spec import backend_kinds

    if model in backend_kinds.names() or model not in PACKAGED:
        return model
    return f"hf:{ensure_packaged(model)}"


def _warm(policy: ChatPolicy, prompt) -> None:
    policy.backend.generate([prompt], Sampling(max_new_tokens=2), [0])


def models_bench(console: Console, contests: int, task: str = "sales", *, models: dict[str, str] | None = None,
                 tasks: tuple[str, ...] | None = None, formats: tuple[str, ...] = FORMATS, sampling: Sampling | None = None,
                 scenarios_dir=None) -> dict:
    """`contests` prompts per task (default: every task of the scenarios folder), cycling over its test anchors. The first model is the default: its batched
    and one-at-a-time runs use `task`'s prompts in its recorded format; a model that cannot load is reported
    and skipped. Returns {"batching": {...}, "policies": {model: {format: {...totals, "by_task": {...}}}}}.

    Every model stays loaded, and the cells run task by task, format by format, model after model (the order
    alternating), so a load that comes and goes on a shared machine falls on all models alike."""
    from agora.sim.errors import AgoraError

    sampling = sampling or Sampling()
    scenarios = Scenarios.load(scenarios_dir)
    tasks = tuple(tasks or scenarios.tasks)
    work = {t: _task_work(scenarios, t, contests) for t in tasks}
    seeds = prompt_seeds(sampling, contests)
    result: dict = {"batching": {}, "policies": {}, "skipped": {}}
    loaded: dict[str, ChatPolicy] = {}
    for label, model in (models or MODELS).items():
        try:
            policy = load_policy(_spec(model), scenarios=scenarios)
        except AgoraError as err:
            console.print(f"models — {label}: skipped ({err})", highlight=False)
            result["skipped"][label] = str(err)
            continue
        if not isinstance(policy, ChatPolicy):
            raise AgoraError(f"agora bench models: {label!r} ({model}) writes slots, not messages; give a chat model")
        spec, anchors = work[tasks[0]]
        _warm(policy, policy.prompt(spec, anchors[0]))  # the first call pays for lazy set-up
        loaded[label] = policy
    if not loaded:
        return result

    runs: dict[tuple[str, str, str], Generation] = {}
    default = next(iter(loaded))
    spec, anchors = work.get(task) or _task_work(scenarios, task, contests)
    result["batching"] = _batching(console, default, loaded[default], task, spec, anchors, sampling, seeds, runs)
    turn = 0
    for t, (spec, anchors) in work.items():
        for f in formats:
            order = list(loaded) if turn % 2 == 0 else list(loaded)[::-1]
            turn += 1
            for label in order:
                policy = ChatPolicy(loaded[label].backend, f)
                if (label, f, t) not in runs:
                    runs[(label, f, t)] = timed_generation(policy, [policy.prompt(spec, a) for a in anchors], sampling, seeds)

    for label, recorded in loaded.items():
        per_format = {}
        for f in formats:
            policy, by_task = ChatPolicy(recorded.backend, f), {}
            for t, (spec, anchors) in work.items():
                gen = runs[(label, f, t)]
                by_task[t] = {"tokens": gen.tokens, "seconds": gen.seconds, "tokens_per_s": gen.tokens_per_s,
                              **message_scores(policy, spec, anchors, gen.texts)}
            per_format[f] = {**_pool(by_task), "recorded_format": f == recorded.prompt_format, "by_task": by_task}
            sample = " ".join(runs[(label, f, tasks[0])].texts[0].split())
            console.print(f"{label} ({f}), {tasks[0]}, first completion: {sample[:240]!r}", highlight=False)
        result["policies"][label] = per_format
    _policies_table(console, result["policies"], tasks, contests, sampling)
    return result


def _task_work(scenarios: Scenarios, task: str, n: int):
    test = scenarios.anchors(task, "test")
    return scenarios.task(task), [test[i % len(test)] for i in range(n)]


def _batching(console: Console, label: str, policy: ChatPolicy, task: str, spec: TaskSpec, anchors: list[Anchor],
              sampling: Sampling, seeds: list[int], runs: dict) -> dict:
    """Batched, one at a time, batched again (A-B-A: a load that drifts falls on both); batched is the two runs' mean."""
    prompts = [policy.prompt(spec, a) for a in anchors]
    load = [os.getloadavg()[0]]
    first = runs[(label, policy.prompt_format, task)] = timed_generation(policy, prompts, sampling, seeds, batched=True)
    single = timed_generation(policy, prompts, sampling, seeds, batched=False)
    again = timed_generation(policy, prompts, sampling, seeds, batched=True)
    load.append(os.getloadavg()[0])
    batched = Generation(first.texts, first.tokens, (first.seconds + again.seconds) / 2)
    same = sum(a == b for a, b in zip(batched.texts, single.texts))
    ratio = batched.tokens_per_s / single.tokens_per_s if single.tokens_per_s else 0.0
    table = Table(title=f"policy generation — {label} ({policy.prompt_format}), {task}, {len(prompts)} prompts, "
                        f"max {sampling.max_new_tokens} new tokens, T={sampling.temperature}")
    for col in ("transformers", "generate calls", "tokens", "seconds", "tokens/s"):
        table.add_column(col, justify="left" if col == "transformers" else "right")
    batch_size = getattr(policy.backend, "batch_size", len(prompts))
    table.add_row(f"batched (batch_size {batch_size}), mean of 2", "1", str(batched.tokens), f"{batched.seconds:.1f}", f"{batched.tokens_per_s:.1f}")
    table.add_row("one prompt at a time", str(len(prompts)), str(single.tokens), f"{single.seconds:.1f}", f"{single.tokens_per_s:.1f}")
    console.print(table)
    console.print(f"batched / one at a time: [bold]{ratio:.1f}×[/] tokens/s; identical completions {same}/{len(prompts)}; "
                  f"batched runs {first.seconds:.1f} s and {again.seconds:.1f} s; load average {load[0]:.1f} → {load[1]:.1f} "
                  f"on {os.cpu_count()} cores", highlight=False)
    return {"model": label, "task": task, "prompts": len(prompts), "batched_tokens": batched.tokens,
            "single_tokens": single.tokens, "batched_tokens_per_s": batched.tokens_per_s,
            "single_tokens_per_s": single.tokens_per_s, "batched_over_single": ratio, "identical_completions": same}


def _pool(by_task: dict) -> dict:
    """Totals over tasks: tokens/s over all tokens and seconds, shares weighted by messages."""
    n = sum(c["messages"] for c in by_task.values())
    tokens, seconds = sum(c["tokens"] for c in by_task.values()), sum(c["seconds"] for c in by_task.values())
    shares = {k: sum(c[k] * c["messages"] for c in by_task.values()) / max(n, 1)
              for k in ("names_anchor", "invented_number", "mean_words", "parse_ok")}
    return {"messages": n, "tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds if seconds else 0.0, **shares}


def _policies_table(console: Console, policies: dict, tasks: tuple[str, ...], contests: int, sampling: Sampling) -> None:
    table = Table(title=f"policies on the test anchors — {contests} prompts per task, max {sampling.max_new_tokens} "
                        f"new tokens, T={sampling.temperature} (* = the model's recorded format)")
    for col in ("model", "format", "task", "tokens/s", "names anchor", "invented number", "mean words", "parses ok"):
        table.add_column(col, justify="left" if col in ("model", "format", "task") else "right")
    for label, per_format in policies.items():
        for f, cell in per_format.items():
            rows = [(t, cell["by_task"][t]) for t in tasks] + ([("all", cell)] if len(tasks) > 1 else [])
            for t, c in rows:
                table.add_row(label, f + ("*" if cell["recorded_format"] else ""), t, f"{c['tokens_per_s']:.1f}",
                              f"{c['names_anchor']:.0%}", f"{c['invented_number']:.0%}", f"{c['mean_words']:.0f}",
                              f"{c['parse_ok']:.0%}", end_section=t == "all")
    console.print(table)
    console.print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", highlight=False)
    labels = list(policies)
    if len(labels) > 1:
        def pooled(label):  # the recorded format's totals (else the first format's)
            cells = list(policies[label].values())
            return next((c for c in cells if c["recorded_format"]), cells[0])

        base = pooled(labels[0])
        for other in labels[1:]:
            o = pooled(other)
            ratio = o["tokens_per_s"] / base["tokens_per_s"] if base["tokens_per_s"] else 0.0
            console.print(f"{other} / {labels[0]} (recorded formats): [bold]{ratio:.2f}×[/] tokens/s", highlight=False)
