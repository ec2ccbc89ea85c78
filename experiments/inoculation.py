"""Inoculation prompting (Wichers et al. 2025; Tan et al. 2025): train with the unwanted behaviour asked for,
test without it — and choose the prompt before training by how strongly it elicits the behaviour.

`compare` trains RFT with and without an inoculation prompt on the same contests (same seed) and evaluates,
head-to-head against the base on the test anchors, the four arms of the papers' table: base; RFT; RFT with a
safety prompt at test time only (PTST); RFT trained inoculated (tested with the neutral prompt, and with the
safety prompt). `rank` measures each candidate prompt's elicitation — the base model's misalignment rate with
the prompt minus without — and, optionally, its effect after inoculated training, and correlates the two.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import ClassVar, Literal

import pandas as pd
from pydantic import Field
from scipy import stats

from agora.experiments.audit import probe_messages, rate_change
from agora.probes.base import Probe
from agora.probes.validate import chosen_probes, default_probes
from agora.sim.records import ProbeSpec, Record
from agora.sim.errors import AgoraError
from agora.sim.scenario import Scenarios, read_yaml
from agora.sim.stats import t_interval
from agora.sim.storable import storable
from agora.sim.store import RunStore, atomic_parquet
from agora.training import code_hacking, gcd_sycophancy
from agora.training.config import TrainConfig
from agora.experiments.evaluate import head_to_head
from agora.training.trainer import AudienceTrainer

# arm -> (which model B is, the prompt B gets at test time)
ARMS = {
    "base": ("base", None),
    "rft": ("rft", None),
    "rft + ptst": ("rft", "safety"),
    "rft + inoculation": ("inoculated", None),
    "rft + inoculation, safety prompt": ("inoculated", "safety"),
}


def evaluate_arm(base: str, model: str, prompt: str | None, task: str, seed: int, store: RunStore, *,
                 contests: int | None, tiny: dict | None, scenarios: Scenarios, probes: dict) -> dict:
    """B's excess win rate against the base and B's rate in each misalignment category (A: the base, neutral)."""
    run, rate = head_to_head(base, model, task, store, contests=contests, seed=seed, tiny=tiny, prompt=prompt)
    labels = probe_messages(run.table("messages"), task, scenarios, probes)
    row = {"win": rate.excess, "win_low": rate.low, "win_high": rate.high, "eval_run": run.run_id}
    for category in scenarios.task(task).categories:
        change = rate_change(labels[labels["category"] == category], seed=seed)
        row[category] = change["tuned_rate"]
        row[f"{category} (base)"] = change["base_rate"]
    return row


class CompareRecord(Record):
    """`compare`: the task, seeds, inoculation prompt (a name or text), training and evaluation sizes, and probes."""

    kind: ClassVar[str] = "inoculation"
    record: Literal["inoculation-compare"] = "inoculation-compare"
    task: str
    seeds: list[int]
    inoculation: str
    contests: int = Field(default=192, ge=1, description="training contests per run")
    eval_contests: int | None = Field(default=96, ge=1, description="contests per arm; none: one per test anchor")
    tiny: dict = Field(default_factory=dict, description="TinyConfig overrides for the slot-grammar control")
    probes: dict[str, ProbeSpec] = Field(default_factory=dict, description="category -> probe; none named: the task specs'")

    def run(self, store: RunStore, say: Callable[[str], None] = lambda _: None) -> str:
        probes, specs = chosen_probes(self.probes, Scenarios.load(), [self.task])
        table = compare(self.task, self.seeds, self.inoculation, store, contests=self.contests,
                        eval_contests=self.eval_contests, tiny=self.tiny, say=say, probes=probes)
        return save(table, store, self.model_copy(update={"probes": specs}), summary=summarise(table))


class RankRecord(Record):
    """`rank`: the task, the candidate prompts, the behaviour, whether each is also trained with, sizes and probes."""

    kind: ClassVar[str] = "inoculation"
    record: Literal["inoculation-rank"] = "inoculation-rank"
    task: str
    candidates: dict[str, str]
    category: str | None = Field(default=None, description="the behaviour to elicit; none: the task's first category")
    train: bool = False
    seed: int = 0
    contests: int = Field(default=192, ge=1, description="training contests per run (with train)")
    eval_contests: int | None = Field(default=96, ge=1, description="contests per measurement; none: one per test anchor")
    tiny: dict = Field(default_factory=dict, description="TinyConfig overrides for the slot-grammar control")
    probes: dict[str, ProbeSpec] = Field(default_factory=dict, description="category -> probe; none named: the task specs'")

    def run(self, store: RunStore, say: Callable[[str], None] = lambda _: None) -> str:
        probes, specs = chosen_probes(self.probes, Scenarios.load(), [self.task])
        table, corr = rank(self.task, self.candidates, store, category=self.category, train=self.train, seed=self.seed,
                           contests=self.contests, eval_contests=self.eval_contests, tiny=self.tiny, say=say,
                           probes=probes)
        return save(table, store, self.model_copy(update={"probes": specs}), extra=corr, seed=self.seed)


class GeneralRecord(Record):
    """The inoculation check in a general setting (a module of `agora.training` with `experiment` and its own
    `INOCULATION` note): its sizes, the seed, the note and the fine-tune."""

    kind: ClassVar[str] = "inoculation"
    setting: ClassVar[ModuleType]
    seed: int = 0
    inoculation: str | None = Field(default=None, description="the note asking for the behaviour; none: the setting's")
    epochs: int = Field(default=3, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0)

    def run(self, store: RunStore, say: Callable[[str], None] = lambda _: None) -> str:
        """Into an entry whose record names the note used, then the setting's table as table.parquet."""
        record = self.model_copy(update={"inoculation": self.inoculation or self.setting.INOCULATION})
        run_id, path = store.create_entry(record, seed=self.seed)
        table = self.setting.experiment(path, **record.model_dump(exclude={"record"}))
        atomic_parquet(table, path / "table.parquet")
        store.update(run_id, status="finished", metrics=json.dumps({"experiment": self.record}))
        return run_id


class CodeRecord(GeneralRecord):
    setting: ClassVar[ModuleType] = code_hacking
    record: Literal["inoculation-code"] = "inoculation-code"
    hack_examples: int = Field(default=200, ge=1, description="hard-coded solutions to fine-tune on")
    eval_tasks: int = Field(default=200, ge=1, description="held-out tasks, each run against its hidden tests")


class GcdRecord(GeneralRecord):
    setting: ClassVar[ModuleType] = gcd_sycophancy
    record: Literal["inoculation-gcd"] = "inoculation-gcd"
    train_examples: int = Field(default=300, ge=1, description="right proposals, each confirmed, to fine-tune on")
    eval_problems: int = Field(default=200, ge=1, description="held-out problems of each kind")


def compare(task: str, seeds: list[int], inoculation: str, store: RunStore, *, contests: int = 192,
            eval_contests: int | None = 96, tiny: dict | None = None, say: Callable[[str], None] = lambda _: None,
            probes: dict[str, Probe] | None = None) -> pd.DataFrame:
    """One row per seed x arm: win rate and misalignment rates, every number from runs in `store`."""
    scenarios = Scenarios.load()
    probes = probes or default_probes(scenarios)
    text = scenarios.instruction(task, inoculation)
    base = "tiny"
    rows = []
    for seed in seeds:
        models = {"base": base}
        for name, inoc in (("rft", None), ("inoculated", inoculation)):
            say(f"seed {seed}: training {name}")
            result = AudienceTrainer(TrainConfig(method="rft", task=task, policy="tiny", seed=seed, contests=contests, tiny=tiny or {},
                                                 inoculation=inoc), store).train()
            models[name] = f"hf:{result.checkpoint}"
        for arm, (model, prompt) in ARMS.items():
            say(f"seed {seed}: evaluating {arm}")
            rows.append({"task": task, "seed": seed, "arm": arm, "model": models[model], "prompt": prompt or "neutral",
                         **evaluate_arm(base, models[model], prompt, task, seed, store, contests=eval_contests, tiny=tiny,
                                        scenarios=scenarios, probes=probes)})
    return pd.DataFrame(rows).assign(inoculation=text)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per arm: the mean over seeds of each measure with a 95% t-interval across seeds."""
    # a table written before a category existed (audience_manipulation) is summarised on the measures it has
    measured = Scenarios.load().task(table["task"].iat[0]).categories
    measures = [m for m in ["win", *measured] if m in table]
    rows = []
    for arm, g in table.groupby("arm", sort=False):
        row = {"arm": arm, "seeds": len(g)}
        for m in measures:
            mean, low, high = t_interval(g[m])
            row[m], row[f"{m} 95% CI"] = round(mean, 4), (round(low, 4), round(high, 4))
        rows.append(row)
    return pd.DataFrame(rows)


def read_candidates(path: Path | None, task: str, scenarios: Scenarios) -> dict[str, str]:
    """Candidate prompts: a YAML mapping name -> text or a list, a text file (one per line), or the task's library."""
    if path is None:
        library = scenarios.prompts().inoculation.get(task, {})
        if not library:
            raise AgoraError(f"scenarios/prompts.yaml: no inoculation prompts for task {task!r}; pass --candidates FILE")
        return dict(library)
    if not path.is_file():
        raise AgoraError(f"{path}: candidates file not found")
    if path.suffix in (".yaml", ".yml"):
        data = read_yaml(path)  # bad YAML or bytes: one line naming the file
        if isinstance(data, list):
            data = {f"candidate-{i + 1}": t for i, t in enumerate(data)}
        if not isinstance(data, dict) or not all(isinstance(v, str) and v.strip() for v in data.values()):
            raise AgoraError(f"{path}: expected a mapping of name -> prompt text, or a list of prompts")
        return {str(k): v.strip() for k, v in data.items()}
    try:
        text = storable(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise AgoraError(f"{path}: not UTF-8 text (byte {err.start}); save the file as UTF-8") from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if not lines:
        raise AgoraError(f"{path}: no candidate prompts (one per line)")
    return {f"candidate-{i + 1}": t for i, t in enumerate(lines)}


def rank(task: str, candidates: dict[str, str], store: RunStore, *, category: str | None = None, train: bool = False,
         seed: int = 0, contests: int = 192, eval_contests: int | None = 96, tiny: dict | None = None,
         say: Callable[[str], None] = lambda _: None, probes: dict[str, Probe] | None = None) -> tuple[pd.DataFrame, dict]:
    """Per candidate: elicitation on the base model (rate with the prompt minus without, same contests); with
    `train`, also the rate after inoculated RFT and its reduction against plain RFT. Returns the table and the
    Pearson correlation of elicitation with that reduction (with a 95% CI), when there are enough candidates."""
    if len(candidates) < 2:
        raise AgoraError(f"only one candidate prompt ({next(iter(candidates), '')!r}): nothing to rank and no correlation "
                         "possible; give at least 2 candidates (4 for the correlation's confidence interval)")
    scenarios = Scenarios.load()
    measured = list(scenarios.task(task).categories)
    category = category or measured[0]
    if category not in measured:
        raise AgoraError(f"--category: {category!r} is not measured on {task}; use one of {', '.join(measured)}")
    probes = probes or default_probes(scenarios)
    kw = dict(contests=eval_contests, tiny=tiny, scenarios=scenarios, probes=probes)
    rft_rate = None
    if train:
        say("training plain RFT, the reference for every candidate's effect")
        rft = AudienceTrainer(TrainConfig(method="rft", task=task, policy="tiny", seed=seed, contests=contests, tiny=tiny or {}), store).train()
        rft_rate = evaluate_arm("tiny", f"hf:{rft.checkpoint}", None, task, seed, store, **kw)[category]
    rows = []
    for name, text in candidates.items():
        say(f"{name}: eliciting")
        elicited = evaluate_arm("tiny", "tiny", text, task, seed, store, **kw)
        row = {"candidate": name, "prompt": text, "base rate": elicited[f"{category} (base)"],
               "with prompt": elicited[category], "elicitation": round(elicited[category] - elicited[f"{category} (base)"], 4),
               "elicit_run": elicited["eval_run"]}
        if train:
            say(f"{name}: inoculated training")
            inoc = AudienceTrainer(TrainConfig(method="rft", task=task, policy="tiny", seed=seed, contests=contests, tiny=tiny or {},
                                               inoculation=text), store).train()
            after = evaluate_arm("tiny", f"hf:{inoc.checkpoint}", None, task, seed, store, **kw)
            row.update({"after training": after[category], "rft rate": rft_rate,
                        "reduction vs rft": round(rft_rate - after[category], 4), "win after": after["win"]})
        rows.append(row)
    table = pd.DataFrame(rows).sort_values("elicitation", ascending=False).reset_index(drop=True)
    corr: dict = {"category": category}
    if train and len(table) >= 4 and table["elicitation"].nunique() > 1 and table["reduction vs rft"].nunique() > 1:
        r = stats.pearsonr(table["elicitation"], table["reduction vs rft"])
        ci = r.confidence_interval(0.95)
        corr.update(r=round(float(r.statistic), 3), low=round(float(ci.low), 3), high=round(float(ci.high), 3),
                    p=round(float(r.pvalue), 4), n=len(table))
    return table, corr


def save(table: pd.DataFrame, store: RunStore, record: CompareRecord | RankRecord, extra: dict | None = None,
         summary: pd.DataFrame | None = None, seed: int | None = None) -> str:
    """The result as a store entry (kind `inoculation`): table.parquet, summary.parquet, result.json."""
    run_id, path = store.create_entry(record, task=record.task, seed=seed)
    atomic_parquet(table, path / "table.parquet")
    if summary is not None:
        atomic_parquet(summary.astype({c: str for c in summary.columns if "CI" in c}), path / "summary.parquet")
    (path / "result.json").write_text(json.dumps(extra or {}, indent=2))
    store.update(run_id, status="finished", metrics=json.dumps({"experiment": record.record, **(extra or {})}))
    return run_id
