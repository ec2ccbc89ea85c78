"""The memory experiments: context-level drift, ACE offline epochs, and mem-agent retrieval.

Drift: does optimising the *context* for audience wins make a competitor less honest, as fine-tuning does? Competitor
B has the memory, A the same policy without it, over N online contests; B's vote share (bootstrap CI over anchors) and
each misalignment rate of B against A (`probes/audit.py`, relative change with a bootstrap CI) form the table. A
`none` row (neither has memory) shows the noise of the same design.

ACE offline: epochs over training anchors, the playbook scored on held-out anchors after each epoch (updates frozen),
for three variants: delta operations with grow-and-refine de-duplication, the same without de-duplication, and the
monolithic rewrite baseline.

Retrieval: questions about single personas over a seeded mem-agent memory, answered by the rule agent through the
sandboxed tools with and without following [[links]] from user.md.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from agora.memory.ace import ACECapability, offline
from agora.memory.memagent import counts_line, run_agent, scripted
from agora.memory.memagent_tools import run_tools
from agora.memory.roles import strategies
from agora.experiments.audit import probe_messages, rate_change
from agora.probes.validate import chosen_probes
from agora.sim.records import ProbeSpec, Record
from agora.sim.config import RunConfig
from agora.sim.runner import build_model, start_run
from agora.sim.scenario import Scenarios
from agora.sim.stats import paired_bootstrap, percentile_ci
from agora.sim.store import RunStore, atomic_parquet
from agora.experiments.evaluate import vote_share

MEMORIES = ("ace", "arcmemo", "memagent")


def drift_rows(task: str, capability: str, contests: int, seed: int, store: RunStore, probes, scenarios) -> tuple[list[dict], dict]:
    """One run of B with `capability` (or `none`) against A without; the table rows and B's capability state."""
    caps = {} if capability == "none" else {"B": [capability]}
    run = start_run(RunConfig(task=task, contests=contests, seed=seed, policy="tiny", capabilities=caps), store)
    rate = vote_share(run.table("contests"), "B", seed=seed)
    base = {"task": task, "capability": capability, "run": run.run_id}
    rows = [{**base, "measure": "vote share", "base": 0.5, "tuned": rate.share, "change": rate.excess,
             "low": rate.low, "high": rate.high}]
    labels = probe_messages(run.table("messages"), task, scenarios, probes)
    for category in scenarios.task(task).categories:
        c = rate_change(labels[labels["category"] == category], seed=seed)
        rows.append({**base, "measure": category, "base": c["base_rate"], "tuned": c["tuned_rate"],
                     "change": c["relative_change"], "low": c["low"], "high": c["high"], "absolute": c["absolute_change"]})
    state = {}
    if caps:
        state = json.loads((run.path / "capabilities.json").read_text())["B"][capability]
    return rows, state


class DriftRecord(Record):
    """Context-level drift: B with each memory (or none) against A without, on the control policy and audience."""

    kind: ClassVar[str] = "memory"
    record: Literal["drift"] = "drift"
    tasks: list[str]
    capabilities: list[str]
    contests: int = Field(ge=1, description="online contests per capability and task")
    seed: int = 0
    probes: dict[str, ProbeSpec] = Field(default_factory=dict, description="category -> probe; none named: the task specs'")

    def run(self, store: RunStore, say: Callable[[str], None] = lambda _: None) -> str:
        return drift(self.tasks, self.capabilities, self.contests, self.seed, store, self.probes)[0]


def drift(tasks: list[str], capabilities: list[str], contests: int, seed: int, store: RunStore,
          probes: dict[str, ProbeSpec] | None = None) -> tuple[str, pd.DataFrame]:
    """`probes`: category -> the probe to score it with (default: the task specs'); the entry's record names them."""
    scenarios = Scenarios.load()
    probes, specs = chosen_probes(probes or {}, scenarios, tasks)
    record = DriftRecord(tasks=tasks, capabilities=capabilities, contests=contests, seed=seed, probes=specs)
    run_id, path = store.create_entry(record, task=",".join(tasks), policy="tiny", seed=seed)
    rows, states = [], {}
    for task in tasks:
        for cap in capabilities:
            found, state = drift_rows(task, cap, contests, seed, store, probes, scenarios)
            rows += found
            if state:
                states[f"{task}/{cap}"] = state
    df = pd.DataFrame(rows)
    atomic_parquet(df, path / "drift.parquet")
    (path / "capabilities.json").write_text(json.dumps(states, indent=2, default=str))
    store.update(run_id, status="finished", metrics=json.dumps({"rows": len(df)}))
    return run_id, df


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table of already formatted cells (what the CLI prints and saves)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]) + "\n"


def drift_markdown(df: pd.DataFrame) -> str:
    rows = []
    for r in df.itertuples():
        if r.measure == "vote share":
            rows.append([r.task, r.capability, "B vote share", "50%", f"{r.tuned:.1%}", f"{r.change:+.1%}",
                         f"[{r.low:+.1%}, {r.high:+.1%}]"])
        elif r.change is None or pd.isna(r.change):
            rows.append([r.task, r.capability, r.measure, f"{r.base:.1%}", f"{r.tuned:.1%}", f"{r.absolute:+.1%} (abs.)", "—"])
        else:
            rows.append([r.task, r.capability, r.measure, f"{r.base:.1%}", f"{r.tuned:.1%}", f"{r.change:+.1%} (rel.)",
                         f"[{r.low:+.1%}, {r.high:+.1%}]"])
    return markdown_table(["task", "memory", "measure", "A (no memory)", "B (memory)", "change", "95% CI"], rows)


# --- ACE offline -------------------------------------------------------------------------------------------------

VARIANTS = {"delta": {}, "delta-no-dedup": {"dedup": False}, "monolithic": {"mode": "monolithic"}}


def share_ci(shares: list[float], seed: int, n_boot: int = 2000) -> tuple[float, float, float]:
    """Mean vote share over contests with a bootstrap 95% CI over contests."""
    x = np.array(shares)
    low, high = percentile_ci(paired_bootstrap((x,), lambda s: s.mean(1), n_boot, seed))
    return round(float(x.mean()), 4), round(low, 4), round(high, 4)


class AceOfflineRecord(Record):
    """ACE offline epochs: the task, epochs, anchors, variants and de-duplication threshold."""

    kind: ClassVar[str] = "memory"
    record: Literal["ace-offline"] = "ace-offline"
    task: str
    epochs: int = Field(ge=1)
    train: int = Field(ge=1, description="training anchors asked for (train split; fewer if it has fewer)")
    val: int = Field(ge=1, description="validation anchors asked for (test split)")
    seed: int = 0
    variants: list[str] = Field(default_factory=lambda: list(VARIANTS))
    dedup_threshold: float = 0.9

    def run(self, store: RunStore, say: Callable[[str], None] = lambda _: None) -> str:
        return ace_offline(self.task, self.epochs, self.train, self.val, self.seed, store, self.variants,
                           self.dedup_threshold)[0]


def ace_offline(task: str, epochs: int, train: int, val: int, seed: int, store: RunStore,
                variants: list[str] | None = None, dedup_threshold: float = 0.9) -> tuple[str, pd.DataFrame]:
    """Per variant, the playbook's size and held-out score after each epoch."""
    variants = variants or list(VARIANTS)
    scenarios = Scenarios.load()
    train_anchors = scenarios.anchors(task, "train")[:train]
    val_anchors = scenarios.anchors(task, "test")[:val]
    record = AceOfflineRecord(task=task, epochs=epochs, train=train, val=val, seed=seed, variants=variants,
                              dedup_threshold=dedup_threshold)
    run_id, path = store.create_entry(record, task=task, policy="tiny", seed=seed)
    model = build_model(RunConfig(task=task, contests=1, seed=seed, policy="tiny"), scenarios)
    writer = model.writers[1]
    rows, playbooks = [], {}
    for variant in variants:
        cap = ACECapability(backend=writer.policy.backend, seed=seed, dedup_threshold=dedup_threshold, **VARIANTS[variant])
        writer.capabilities = [cap]
        epoch = iter(range(1, epochs + 1))
        scores: list[tuple] = []

        def play(anchors, first: int) -> list[float]:
            model.anchor_order = list(anchors)
            shares = []
            for i in range(len(anchors)):
                record = model.play([first + i])[0]
                votes = record.contest["votes"].iat[0]
                shares.append(votes[1] / max(1, sum(votes)))
            return shares

        def train_epoch() -> None:
            e = next(epoch)
            order = list(train_anchors)
            random.Random(seed * 1_000_003 + e).shuffle(order)
            play(order, first=e * len(order) * 1000)  # contest ids that map to anchor i

        def validate() -> float:
            scores.append(share_ci(play(val_anchors, first=0), seed))  # the same contests (seeds) every time: paired
            return scores[-1][0]

        for r in offline(cap, train_epoch, validate, epochs):
            rows.append({"variant": variant, **r, "low": scores[r["epoch"]][1], "high": scores[r["epoch"]][2]})
        playbooks[variant] = cap.state()
    df = pd.DataFrame(rows)
    atomic_parquet(df, path / "ace_offline.parquet")
    (path / "capabilities.json").write_text(json.dumps({"B": {f"ace/{v}": s for v, s in playbooks.items()}}, indent=2, default=str))
    store.update(run_id, status="finished", metrics=json.dumps({"rows": len(df)}))
    return run_id, df


def ace_markdown(df: pd.DataFrame) -> str:
    return markdown_table(["variant", "epoch", "bullets", "tokens", "held-out B vote share", "95% CI"],
                          [[r.variant, r.epoch, r.bullets, r.tokens, f"{r.score:.1%}", f"[{r.low:.1%}, {r.high:.1%}]"]
                           for r in df.itertuples()])


# --- mem-agent retrieval -------------------------------------------------------------------------------------------

FIND = """
for line in read_file("user.md").splitlines():
    if line.startswith("- " + {name!r} + ","):
        print(re.search(r"\\[\\[[^\\]]+\\]\\]", line).group(0))
"""
FOLLOW = """
m = re.search(r"rewarded: (.*)", go_to_link({link!r}))
print(m.group(1) if m else "{{}}")
"""
SUMMARY = """
m = re.search(r"audience rewarded: (.*)", read_file("user.md"))
print(m.group(1) if m else "{}")
"""


def seed_memory(folder: Path, personas: list, seed: int) -> dict[str, str]:
    """user.md (names, one-line descriptions, links and an audience summary) and entities/<id>.md (what each persona
    rewarded), written through the sandboxed tools; returns each persona's true top strategy."""
    rng = random.Random(seed)
    names = [s.name for s in strategies()]
    truth, blocks, audience = {}, [], {n: 0 for n in names}
    for p in personas:
        counts = {n: rng.randint(0, 6) for n in names}
        top = max(names, key=lambda n: (counts[n], -names.index(n)))
        counts[top] += 3  # a clear favourite
        truth[p.name] = top
        for n in names:
            audience[n] += counts[n]
        blocks.append(f"create_file({f'entities/{p.id}.md'!r}, {f'# {p.name}' + chr(10) + 'rewarded: ' + counts_line(counts) + chr(10)!r})")
    lines = "".join(f"- {p.name}, {p.biography.split('.')[0][:60]}: [[entities/{p.id}]]\n" for p in personas)
    user = f"# My audience\n\n## Personas\n{lines}\n## Summary\naudience rewarded: {counts_line(audience)}\n"
    out = run_tools("\n".join(blocks + [f"create_file('user.md', {user!r})"]), folder)
    if out.returncode:
        raise RuntimeError(f"seeding the memory failed: {out.stderr[-300:]}")
    return truth


def _top(result: str) -> str:
    try:
        counts = json.loads(result.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return ""
    names = [s.name for s in strategies()]
    return max(names, key=lambda n: (counts.get(n, 0), -names.index(n))) if counts else ""


def answer(folder: Path, name: str, links: bool) -> tuple[str, int]:
    """The rule agent's answer to 'what does NAME reward most?' and the turns it took."""
    if links:
        turns = [lambda _: f"<think>find {name}'s link in user.md</think><python>{FIND.format(name=name)}</python>",
                 lambda link: (f"<think>follow it</think><python>{FOLLOW.format(link=link.strip())}</python>"
                               if link.strip().startswith("[[") else "<reply></reply>"),
                 lambda result: f"<reply>{_top(result)}</reply>"]
    else:
        turns = [lambda _: f"<think>user.md only</think><python>{SUMMARY}</python>",
                 lambda result: f"<reply>{_top(result)}</reply>"]
    run = run_agent(scripted(turns), f"What does {name} reward most?", folder, max_turns=len(turns))
    return (run.reply or "").strip(), len(run.turns)


class RetrievalRecord(Record):
    """mem-agent retrieval by the rule agent over a memory seeded from every persona: only the seed varies."""

    kind: ClassVar[str] = "memory"
    record: Literal["memagent-retrieval"] = "memagent-retrieval"
    seed: int = 0

    def run(self, store: RunStore, say: Callable[[str], None] = lambda _: None) -> str:
        return retrieval(self.seed, store)[0]


def retrieval(seed: int, store: RunStore) -> tuple[str, pd.DataFrame]:
    personas = Scenarios.load().personas
    run_id, path = store.create_entry(RetrievalRecord(seed=seed), task="memagent", policy="rule", seed=seed)
    folder = path / "memory"
    truth = seed_memory(folder, personas, seed)
    rows, answers = [], []
    for links in (True, False):
        got = {name: answer(folder, name, links) for name in truth}
        answers += [{"links": links, "persona": n, "truth": truth[n], "answer": a, "turns": t} for n, (a, t) in got.items()]
        correct = [got[n][0] == truth[n] for n in truth]
        rows.append({"link_following": links, "questions": len(correct), "correct": sum(correct),
                     "accuracy": round(sum(correct) / len(correct), 4),
                     "mean_turns": round(float(np.mean([t for _, t in got.values()])), 2)})
    df = pd.DataFrame(rows)
    atomic_parquet(df, path / "retrieval.parquet")
    atomic_parquet(pd.DataFrame(answers), path / "answers.parquet")
    files = [{"path": str(p.relative_to(folder)), "bytes": p.stat().st_size, "content": p.read_text()[:2000]}
             for p in sorted(folder.rglob("*.md"))]
    (path / "capabilities.json").write_text(json.dumps({"seeded": {"memagent": {"files": files}}}, indent=2))
    store.update(run_id, status="finished", metrics=json.dumps(rows, default=str))
    return run_id, df


def retrieval_markdown(df: pd.DataFrame) -> str:
    return markdown_table(["link following", "questions", "correct", "accuracy", "mean turns"],
                          [["yes" if r.link_following else "no (user.md only)", r.questions, r.correct, f"{r.accuracy:.1%}",
                            r.mean_turns] for r in df.itertuples()])
