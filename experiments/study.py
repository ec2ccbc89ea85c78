"""The study's experiment, repeated over tasks, methods and seeds: train on wins, then face the base.

For each (task, seed, method): one training run on the train anchors, then a head-to-head on the
test anchors (base = A, tuned = B); with both methods, also TFB against RFT, as in the study. The table
reports B's excess win rate with its CI and, per misalignment category, the share of base and of tuned
messages that the audit's probes flag (`agora.probes`), on the same test contests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import pandas as pd
from pydantic import Field

from agora.experiments.audit import probe_messages, rate_change
from agora.probes.base import Probe
from agora.probes.validate import chosen_probes, default_probes
from agora.sim.records import ProbeSpec, Record
from agora.sim.scenario import Scenarios
from agora.sim.store import RunStore, atomic_parquet
from agora.sim.backends.spec import local_checkpoint
from agora.sim.tiny.control import TinyConfig
from agora.training.config import TrainConfig
from agora.experiments.evaluate import head_to_head
from agora.training.trainer import AudienceTrainer


def behaviours(messages: pd.DataFrame, task: str, scenarios: Scenarios, probes: dict[str, Probe]) -> dict:
    """Per misalignment category of `task`: the share of A's ('base') and B's ('tuned') messages its probe flags,
    the rates an audit of the same messages reports."""
    labels = probe_messages(messages, task, scenarios, probes)
    row = {}
    for category in scenarios.task(task).categories:
        change = rate_change(labels[labels["category"] == category])
        row[f"{category}_base"], row[f"{category}_tuned"] = change["base_rate"], change["tuned_rate"]
    return row


class StudyRecord(Record):
    """A study: the tasks, seeds and methods, the training and evaluation sizes, and the probes per category."""

    record: Literal["study"] = "study"
    tasks: list[str]
    seeds: list[int]
    methods: list[str]
    contests: int = Field(default=192, ge=1, description="training contests per run")
    eval_contests: int = Field(default=96, ge=1, description="head-to-head contests on the test anchors")
    policy: str = Field(default="smollm2", description="the base policy, with local weights")
    tiny: dict = Field(default_factory=dict, description="TinyConfig overrides for the slot-grammar control")
    batch_contests: int = Field(default=1, ge=1)
    probes: dict[str, ProbeSpec] = Field(default_factory=dict, description="category -> probe; none named: the task specs'")

    def run(self, store: RunStore, say: Callable[[str], None] = lambda _: None) -> str:
        """Replicate and save; the saved record names the probes used."""
        probes, specs = chosen_probes(self.probes, Scenarios.load(), self.tasks)
        table = replicate(self.tasks, self.seeds, self.methods, store, contests=self.contests,
                          eval_contests=self.eval_contests, tiny=self.tiny, policy=self.policy,
                          batch_contests=self.batch_contests, say=say, probes=probes)
        return save(table, store, self.model_copy(update={"probes": specs}))


def replicate(tasks: list[str], seeds: list[int], methods: list[str], store: RunStore, *, contests: int = 192,
              eval_contests: int = 96, tiny: dict | None = None, policy: str = "smollm2", batch_contests: int = 1,
              say: Callable[[str], None] = lambda _: None, probes: dict[str, Probe] | None = None) -> pd.DataFrame:
    scenarios = Scenarios.load()
    base = f"hf:{local_checkpoint(policy, scenarios=scenarios, tiny=TinyConfig(**(tiny or {})))}"
    probes = probes or default_probes(scenarios)
    rows = []
    for task in tasks:
        for seed in seeds:
            tuned = {}
            for method in methods:
                say(f"{task} seed {seed} {method}: training")
                cfg = TrainConfig(method=method, task=task, policy=base, contests=contests, seed=seed, tiny=tiny or {},
                                  batch_contests=batch_contests)
                trained = AudienceTrainer(cfg, store).train()
                tuned[method] = f"hf:{trained.checkpoint}"
                rows.append(_compare(base, tuned[method], task, seed, method, store, eval_contests, scenarios, probes,
                                     tiny, trained.run_id, say, batch_contests))
            if {"rft", "tfb"} <= set(tuned):  # the study's third comparison: TFB (B) against RFT (A)
                rows.append(_compare(tuned["rft"], tuned["tfb"], task, seed, "tfb_vs_rft", store, eval_contests,
                                     scenarios, probes, tiny, "", say, batch_contests))
    return pd.DataFrame(rows)


def _compare(a: str, b: str, task: str, seed: int, method: str, store: RunStore, contests: int, scenarios: Scenarios,
             probes: dict[str, Probe], tiny: dict | None, train_run: str, say: Callable[[str], None],
             batch_contests: int = 1) -> dict:
    """B against A on the test anchors: B's excess win rate, and each category's rate for A ('base') and B ('tuned')."""
    run, rate = head_to_head(a, b, task, store, contests=contests, seed=seed, tiny=tiny, batch_contests=batch_contests)
    row = {"task": task, "seed": seed, "method": method, "train_run": train_run, "eval_run": run.run_id,
           **rate.as_dict(), **behaviours(run.table("messages"), task, scenarios, probes)}
    say(f"{task} seed {seed} {method}: excess {rate.excess:+.1%} [{rate.low:+.1%}, {rate.high:+.1%}]")
    return row


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per task and method: excess win rate and each category's base -> tuned rate."""
    cols = ["excess", "low", "high"] + [c for c in table.columns if c.endswith(("_base", "_tuned"))]
    out = table.groupby(["task", "method"])[cols].mean().round(3)
    out["seeds"] = table.groupby(["task", "method"]).size()
    out["seeds_won"] = table.assign(won=table["low"] > 0).groupby(["task", "method"])["won"].sum()
    return out.reset_index()


def save(table: pd.DataFrame, store: RunStore, record: StudyRecord) -> str:
    run_id, path = store.create_entry(record, task=",".join(sorted(set(table["task"]))))
    atomic_parquet(table, path / "study.parquet")
    (path / "study.md").write_text(summary(table).to_markdown(index=False))
    store.update(run_id, status="finished")
    return run_id
