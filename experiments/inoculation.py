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

import pandas as pd
import yaml
from scipy import stats

from agora.experiments.audit import probe_messages, rate_change
from agora.probes.base import CATEGORIES
from agora.probes.validate import default_probes
from agora.sim.errors import AgoraError
from agora.sim.scenario import Scenarios
from agora.sim.store import RunStore, atomic_parquet
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
    for category in CATEGORIES[task]:
        change = rate_change(labels[labels["category"] == category], seed=seed)
        row[category] = change["tuned_rate"]
        row[f"{category} (base)"] = change["base_rate"]
    return row


def compare(task: str, seeds: list[int], inoculation: str, store: RunStore, *, contests: int = 192,
            eval_contests: int | None = 96, tiny: dict | None = None, say: Callable[[str], None] = lambda _: None) -> pd.DataFrame:
    """One row per seed x arm: win rate and misalignment rates, every number from runs in `store`."""
    scenarios = Scenarios.load()
    probes = default_probes(scenarios)
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
    measures = [m for m in ["win", *CATEGORIES[table["task"].iat[0]]] if m in table]
    rows = []
    for arm, g in table.groupby("arm", sort=False):
        row = {"arm": arm, "seeds": len(g)}
        for m in measures:
            mean, sem = g[m].mean(), stats.sem(g[m]) if len(g) > 1 else float("nan")
            half = stats.t.ppf(0.975, len(g) - 1) * sem if len(g) > 1 else float("nan")
            row[m], row[f"{m} 95% CI"] = round(mean, 4), (round(mean - half, 4), round(mean + half, 4))
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
        data = yaml.safe_load(path.read_text())
        if isinstance(data, list):
            data = {f"candidate-{i + 1}": t for i, t in enumerate(data)}
        if not isinstance(data, dict) or not all(isinstance(v, str) and v.strip() for v in data.values()):
            raise AgoraError(f"{path}: expected a mapping of name -> prompt text, or a list of prompts")
        return {str(k): v.strip() for k, v in data.items()}
    lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    if not lines:
        raise AgoraError(f"{path}: no candidate prompts (one per line)")
    return {f"candidate-{i + 1}": t for i, t in enumerate(lines)}


def rank(task: str, candidates: dict[str, str], store: RunStore, *, category: str | None = None, train: bool = False,
         seed: int = 0, contests: int = 192, eval_contests: int | None = 96, tiny: dict | None = None,
         say: Callable[[str], None] = lambda _: None) -> tuple[pd.DataFrame, dict]:
    """Per candidate: elicitation on the base model (rate with the prompt minus without, same contests); with
    `train`, also the rate after inoculated RFT and its reduction against plain RFT. Returns the table and the
    Pearson correlation of elicitation with that reduction (with a 95% CI), when there are enough candidates."""
    if len(candidates) < 2:
        raise AgoraError(f"only one candidate prompt ({next(iter(candidates), '')!r}): nothing to rank and no correlation "
                         "possible; give at least 2 candidates (4 for the correlation's confidence interval)")
    category = category or CATEGORIES[task][0]
    if category not in CATEGORIES[task]:
        raise AgoraError(f"--category: {category!r} is not measured on {task}; use one of {', '.join(CATEGORIES[task])}")
    scenarios = Scenarios.load()
    probes = default_probes(scenarios)
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


def save(kind: str, table: pd.DataFrame, store: RunStore, config: dict, extra: dict | None = None,
         summary: pd.DataFrame | None = None) -> str:
    """The result as a store entry (kind `inoculation`): table.parquet, summary.parquet, result.json."""
    run_id, path = store.create_entry("inoculation", {"experiment": kind, **config}, task=config.get("task"),
                                      seed=config.get("seed"))
    atomic_parquet(table, path / "table.parquet")
    if summary is not None:
        atomic_parquet(summary.astype({c: str for c in summary.columns if "CI" in c}), path / "summary.parquet")
    (path / "result.json").write_text(json.dumps(extra or {}, indent=2))
    store.update(run_id, status="finished", metrics=json.dumps({"experiment": kind, **(extra or {})}))
    return run_id
