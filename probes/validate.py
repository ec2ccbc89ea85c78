"""`agora probes validate`: each probe against the gold labels — precision, recall, F1, confusion matrix."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from agora.probes.base import Probe
from agora.probes.classifier import ClassifierProbe, by_category, data_hash, default_path, train
from agora.probes.fact import FactProbe
from agora.probes.correction import ProbeError
from agora.probes.gold import GOLD_SETS, REAL_GOLD, GoldRow, gold_items, load_gold
from agora.probes.manipulation import ManipulationProbe
from agora.probes.populism import PopulismProbe
from agora.sim.errors import AgoraError
from agora.sim.records import ProbeSpec, Record
from agora.sim.registry import probes as probe_registry
from agora.sim.scenario import Scenarios
from agora.sim.schema import CategorySpec
from agora.sim.store import RunStore, atomic_parquet


def trained_classifier(scenarios: Scenarios, train_rows: list[GoldRow] | None = None) -> ClassifierProbe:
    """The classifier fitted on the train splits of both gold sets (by default), cached by a hash of that data."""
    if train_rows is None:
        train_rows = [r for path in GOLD_SETS.values() for r in load_gold(path, split="train")]
    data = by_category(gold_items(train_rows, scenarios), [r.labels for r in train_rows])
    path = default_path(data_hash(data))
    if path.is_file():
        return ClassifierProbe.load(path)
    trained = train(data)
    trained.save(path)
    return ClassifierProbe(trained)


def saved_classifier(digest: str, scenarios: Scenarios | None = None) -> ClassifierProbe:
    """The classifier trained on the data of this hash: the saved one, else trained again when the gold sets' train
    splits still hash the same; changed gold sets cannot give back the classifier a record names."""
    path = default_path(digest)
    if path.is_file():
        return ClassifierProbe.load(path)
    probe = trained_classifier(scenarios or Scenarios.load())
    if probe.trained.data_hash != digest:
        raise AgoraError(f"probe classifier: no classifier trained on data {digest} ({path} is gone), and the gold "
                         f"sets' train splits have changed since (they hash to {probe.trained.data_hash} now)")
    return probe


def build_probe(spec: ProbeSpec, scenarios: Scenarios | None = None) -> Probe:
    """A probe again from its spec (`probe.spec()`), by name through the registry and with its settings; the
    classifier, trained rather than configured, by its training data's hash."""
    if spec.name == "classifier":
        return saved_classifier(str(spec.settings.get("data_hash")), scenarios)
    factory = probe_registry.get(spec.name)
    if "categories" not in inspect.signature(factory).parameters:
        raise AgoraError(f"probe {spec.name}: it needs a model, so it cannot be built from its settings alone")
    try:
        return factory(**spec.settings)
    except (TypeError, ValueError) as err:
        raise AgoraError(f"probe {spec.name}: {err}") from None


def chosen_probes(specs: dict[str, ProbeSpec], scenarios: Scenarios,
                  tasks: list[str]) -> tuple[dict[str, Probe], dict[str, ProbeSpec]]:
    """Per category of `tasks`, the probe a record names, built again, or with none named the task spec's
    (`default_probes`); with their specs, for the record to keep."""
    probes = {c: build_probe(s, scenarios) for c, s in specs.items()} if specs else default_probes(scenarios)
    categories = sorted({c for t in tasks for c in scenarios.task(t).categories})
    if missing := [c for c in categories if c not in probes]:
        raise AgoraError(f"probes: none named for {', '.join(missing)}")
    return probes, {c: probes[c].spec() for c in categories}


def default_probes(scenarios: Scenarios) -> dict[str, Probe]:
    """Per category of every task, the probe its task spec names, with the spec's options (the shipped specs say
    why each is the one that validated best on the gold sets). An audit scores a category one way: two specs that
    give one category different probes or options are an error."""
    def how(s: CategorySpec) -> str:
        return s.probe + (f" {s.options}" if s.options else "")

    chosen: dict[str, tuple[str, CategorySpec]] = {}
    for task in scenarios.tasks:
        for category, setting in scenarios.task(task).categories.items():
            first, seen = chosen.setdefault(category, (task, setting))
            if (seen.probe, seen.options) != (setting.probe, setting.options):
                raise AgoraError(f"{scenarios.spec_path(task)}: categories.{category}: probe {how(setting)} differs "
                                 f"from task {first}'s, probe {how(seen)}: an audit scores a category one way")
    classifier = None
    out = {}
    for category, (task, setting) in chosen.items():
        where = f"{scenarios.spec_path(task)}: categories.{category}"
        if setting.probe == "classifier":  # trained on the gold sets' labels, not built from settings
            classifier = classifier or trained_classifier(scenarios)
            if category not in classifier.categories or setting.options:
                raise AgoraError(f"{where}: the classifier takes no options and knows only the categories the gold "
                                 f"sets label ({', '.join(sorted(classifier.categories))})")
            out[category] = classifier
            continue
        try:
            factory = probe_registry.get(setting.probe)
        except AgoraError as err:
            raise AgoraError(f"{where}.probe: {err}") from None
        if "categories" not in inspect.signature(factory).parameters:
            raise AgoraError(f"{where}.probe: the {setting.probe} probe needs a model and cannot be an audit's default")
        try:
            out[category] = factory(categories={category: setting.options})
        except ValueError as err:
            raise AgoraError(f"{where}.options: {err}") from None
    return out


def undefined_metrics(tp: int, fp: int, fn: int, tn: int) -> str:
    """Which of P/R/F1/specificity a confusion matrix cannot define, said plainly ("" when all are defined)."""
    notes = []
    if tp + fn == 0:
        notes.append("no positives in this gold split: recall and F1 undefined")
    if tp + fp == 0:
        notes.append("nothing flagged: precision undefined")
    if tn + fp == 0:
        notes.append("no negatives in this gold split: specificity undefined")
    return "; ".join(notes)


def validate(probes: list[Probe], rows: list[GoldRow], scenarios: Scenarios, predictions: list[dict] | None = None) -> pd.DataFrame:
    """One row per probe x task x category, on `rows` (a gold test split); each verdict appended to `predictions`."""
    out = []
    for task in scenarios.tasks:
        task_rows = [r for r in rows if r.task == task]
        items = gold_items(task_rows, scenarios)
        for category in scenarios.task(task).categories:
            truth = [r.labels[category] for r in task_rows]
            for probe in probes:
                if category not in probe.categories or not items:
                    continue
                verdicts = probe.score(items, category)
                pred = [int(bool(v.label)) for v in verdicts]  # an undecided verdict counts as a miss, and is reported
                if predictions is not None:
                    predictions += [{"id": r.id, "task": task, "category": category, "message": r.message, "truth": t,
                                     "probe": probe.name, "label": p, "score": v.score, "status": v.status,
                                     "evidence": [r.message[e.start:e.end] for e in v.evidence]}
                                    for r, t, p, v in zip(task_rows, truth, pred, verdicts)]
                p, r, f1, _ = precision_recall_fscore_support(truth, pred, average="binary", zero_division=0)
                tn, fp, fn, tp = confusion_matrix(truth, pred, labels=[0, 1]).ravel()
                prevalence = sum(truth) / len(truth)
                nan = float("nan")  # undefined, not 0: a gold split with no positives (real output has no manipulation)
                p, r, f1 = (nan if tp + fp == 0 else p), (nan if tp + fn == 0 else r), (nan if tp + fn == 0 else f1)
                out.append({"probe": probe.name, "task": task, "category": category, "n": len(truth),
                            "positives": sum(truth), "precision": round(p, 3), "recall": round(r, 3), "f1": round(f1, 3),
                            # what flagging every message scores: on a gold set that is mostly positive, F1 alone
                            # rewards a probe that cannot tell clean text from flawed (specificity tells)
                            "flag_all_f1": round(2 * prevalence / (1 + prevalence), 3),
                            "specificity": round(tn / (tn + fp), 3) if tn + fp else float("nan"),
                            "tp": int(tp), "fp": int(fp), "fn": int(fn), "tn": int(tn),
                            "unparseable": sum(v.status == "unparseable" for v in verdicts),
                            "refused": sum(v.status == "refused" for v in verdicts),
                            "note": undefined_metrics(int(tp), int(fp), int(fn), int(tn))})
    return pd.DataFrame(out)


def probe_errors(probes: dict[str, Probe], scenarios: Scenarios, path: Path = REAL_GOLD) -> dict[tuple[str, str], ProbeError]:
    """Per (task, category), the confusion counts of that category's probe on the real-output gold test split:
    what an audit corrects its rates with."""
    rows = load_gold(path, split="test")
    unique = list({id(p): p for p in probes.values()}.values())
    table = validate(unique, rows, scenarios)
    return {(r.task, r.category): ProbeError(r.tp, r.fn, r.tn, r.fp)
            for r in table.itertuples() if probes.get(r.category) is not None and probes[r.category].name == r.probe}


def validation_probes(scenarios: Scenarios, train_rows: list[GoldRow] | None = None) -> list[Probe]:
    """The probes validated without a model: fact, populism and manipulation with the study's options, and the
    classifier."""
    return [FactProbe(), PopulismProbe(), ManipulationProbe(), trained_classifier(scenarios, train_rows)]


def run_validation(scenarios: Scenarios | None = None, judge: str | None = None, activation: str | None = None,
                   gold_sets: list[str] | None = None, judge_tokens: int = 384,
                   judge_progress: Callable[[int, int], None] | None = None,
                   probes: list[Probe] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`probes` (default: `validation_probes`), plus the judge probe with a judge model, the activation probe with a
    policy model; each on the test split of both gold sets (column `gold`), or of those named. Returns the metrics
    table and every verdict (for confusion matrices and disagreements between probes). `judge_progress(done,
    total)` follows the judge's replies, the slow part."""
    from agora.sim.errors import AgoraError

    if unknown := sorted(set(gold_sets or ()) - set(GOLD_SETS)):
        raise AgoraError(f"--gold: unknown gold set {unknown[0]!r}; use {' or '.join(GOLD_SETS)}")
    scenarios = scenarios or Scenarios.load()
    train_rows = [r for path in GOLD_SETS.values() for r in load_gold(path, split="train")]
    tests = {gold: load_gold(path, split="test") for gold, path in GOLD_SETS.items() if not gold_sets or gold in gold_sets}
    probes = list(probes or validation_probes(scenarios, train_rows))
    if judge:
        from agora.probes.judge import JudgeProbe
        from agora.sim.backends.cached import CachedBackend, CallCache
        from agora.sim.backends.spec import load_backend

        from agora.sim.backends.base import Sampling

        backend = CachedBackend(load_backend(judge, scenarios=scenarios, role="voter", field="--judge"), CallCache())
        total = sum(len(scenarios.task(r.task).categories) for rows in tests.values() for r in rows)
        done = 0

        def replied(n: int) -> None:
            nonlocal done
            done += n
            if judge_progress:
                judge_progress(done, total)

        probes.append(JudgeProbe(backend, Sampling(temperature=0.0, max_new_tokens=judge_tokens), progress=replied,
                                 scenarios=scenarios))
    if activation:
        from agora.probes.activation import ActivationProbe
        from agora.sim.policy import load_policy

        backend = load_policy(activation, scenarios=scenarios).backend
        probes.append(ActivationProbe.fit(backend, gold_items(train_rows, scenarios), [r.labels for r in train_rows]))
    tables, predictions = [], []
    for gold, rows in tests.items():
        found: list[dict] = []
        tables.append(validate(probes, rows, scenarios, found).assign(gold=gold))
        predictions += [p | {"gold": gold} for p in found]
    table = pd.concat(tables, ignore_index=True)
    return table[["gold", *table.columns[:-1]]], pd.DataFrame(predictions)


class ValidationRecord(Record):
    """A probe validation: which probes, on which gold sets' test splits."""

    record: Literal["validation"] = "validation"
    probes: list[ProbeSpec] = Field(default_factory=list, description="the probes validated without a model; "
                                                                       "none named: `validation_probes`")
    judge: str | None = Field(default=None, description="also an LLM judge: its model spec")
    activation: str | None = Field(default=None, description="also an activation probe on this policy's hidden states")
    gold_sets: list[str] = Field(default_factory=list, description="the gold sets validated on; none named: all")
    judge_tokens: int = Field(default=384, ge=1, description="the judge's token limit for thinking and answering")

    def run(self, store: RunStore, say: Callable[[str], None] = lambda _: None,
            judge_progress: Callable[[int, int], None] | None = None) -> str:
        """Validate and keep it in the store, the record naming the probes and gold sets as they were resolved."""
        scenarios = Scenarios.load()
        probes = [build_probe(s, scenarios) for s in self.probes] or validation_probes(scenarios)
        table, predictions = run_validation(scenarios, self.judge, self.activation, self.gold_sets, self.judge_tokens,
                                            judge_progress, probes)
        resolved = self.model_copy(update={"probes": [p.spec() for p in probes],
                                           "gold_sets": self.gold_sets or list(GOLD_SETS)})
        return save_validation(store, table, predictions, resolved)


def save_validation(store: RunStore, table: pd.DataFrame, predictions: pd.DataFrame, record: ValidationRecord) -> str:
    """Keep a validation in the run store (kind `validation`), where the dashboard shows it."""
    run_id, path = store.create_entry(record, task="all")
    atomic_parquet(table, path / "validation.parquet")  # a kill or a full disk leaves no half-written table
    atomic_parquet(predictions, path / "predictions.parquet")
    f1 = {f"{r.gold}/{r.probe}/{r.task}/{r.category}": None if pd.isna(r.f1) else r.f1 for r in table.itertuples()}
    store.update(run_id, status="finished", metrics=json.dumps(f1))
    return run_id
