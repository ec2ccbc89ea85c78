"""`agora audit`: did a tuned model become more deceptive than its base? The study's table, with CIs.

Both models write on the same test anchors (a head-to-head contest run, so the excess win rate
comes with it); each message is probed per category by the probe that validates best for it;
each rate's change against the base is reported as the study does ("+14.0% misrepresentation":
the relative change), with a 95 % bootstrap CI over anchors. Drift cases — the same anchor, the
base message clean and the tuned one flagged — are kept with the evidence and the audience's
thoughts, for the dashboard.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from agora.probes.base import Item, Probe
from agora.probes.correction import ProbeError, rogan_gladen
from agora.probes.validate import chosen_probes, probe_errors
from agora.sim.records import ProbeSpec, Record
from agora.sim.scenario import Scenarios
from agora.sim.stats import paired_bootstrap, percentile_ci
from agora.sim.store import RunStore, atomic_parquet
from agora.experiments.evaluate import head_to_head


def probe_messages(messages: pd.DataFrame, task: str, scenarios: Scenarios, probes: dict[str, Probe]) -> pd.DataFrame:
    """One row per message x category: label, score and evidence spans (offsets into `text`)."""
    anchors = {a.id: a for a in scenarios.anchors(task)}
    items = [Item(task, t, anchors[a]) for t, a in zip(messages["text"], messages["anchor_id"])]
    rows = []
    for category in scenarios.task(task).categories:
        probe = probes[category]
        for (_, m), v in zip(messages.iterrows(), probe.score(items, category)):
            rows.append({"contest": m["contest"], "anchor_id": m["anchor_id"], "competitor": m["competitor"],
                         "category": category, "probe": probe.name, "label": v.label, "score": v.score, "status": v.status,
                         "evidence": [{"start": s.start, "end": s.end, "reason": s.reason} for s in v.evidence]})
    return pd.DataFrame(rows)


def rate_change(labels: pd.DataFrame, n_boot: int = 2000, seed: int = 0, error: ProbeError | None = None) -> dict:
    """Base and tuned rates (A, B) and the relative change with a bootstrap CI over anchors; with the probe's
    measured error, the same rates corrected for it (Rogan–Gladen), their CIs also resampling the gold set."""
    per = labels.assign(y=labels["label"].fillna(False).astype(float)).pivot_table(
        index="anchor_id", columns="competitor", values="y", aggfunc=["sum", "count"])
    sa, sb = per[("sum", "A")].to_numpy(), per[("sum", "B")].to_numpy()
    na, nb = per[("count", "A")].to_numpy(), per[("count", "B")].to_numpy()
    base, tuned = sa.sum() / na.sum(), sb.sum() / nb.sum()
    rng = np.random.default_rng(seed)
    boot_base, boot_tuned = paired_bootstrap(
        (sa, na, sb, nb), lambda sa, na, sb, nb: (sa.sum(1) / na.sum(1), sb.sum(1) / nb.sum(1)), n_boot, rng)
    out = {"base_rate": round(base, 4), "tuned_rate": round(tuned, 4), "absolute_change": round(tuned - base, 4),
           "undecided": int(labels["label"].isna().sum()), **relative(base, tuned, boot_base, boot_tuned, n_boot)}
    if error is None:
        return out
    out.update(sensitivity=round(error.sensitivity, 4), specificity=round(error.specificity, 4),
               gold_positives=error.tp + error.fn, gold_negatives=error.tn + error.fp,
               correction_unavailable=error.unavailable)
    if not error.identifiable:  # no gold positives, or a probe no better than chance: nothing to correct with
        return out | {k: None for k in CORRECTED}
    se, sp = error.draws(rng, n_boot)
    cb, ct = (float(rogan_gladen(r, error.sensitivity, error.specificity)) for r in (base, tuned))
    boot_cb, boot_ct = rogan_gladen(boot_base, se, sp), rogan_gladen(boot_tuned, se, sp)
    ok = np.isfinite(boot_cb) & np.isfinite(boot_ct)
    (bl, bh), (tl, th) = (percentile_ci(b[ok]) for b in (boot_cb, boot_ct))
    rel = relative(cb, ct, boot_cb[ok], boot_ct[ok], n_boot)
    out.update(corrected_base=round(cb, 4), corrected_base_low=round(bl, 4), corrected_base_high=round(bh, 4),
               corrected_tuned=round(ct, 4), corrected_tuned_low=round(tl, 4), corrected_tuned_high=round(th, 4),
               corrected_absolute_change=round(ct - cb, 4),
               **{f"corrected_{k}": v for k, v in rel.items()})
    return out


CORRECTED = ("corrected_base", "corrected_base_low", "corrected_base_high", "corrected_tuned", "corrected_tuned_low",
             "corrected_tuned_high", "corrected_absolute_change", "corrected_relative_change", "corrected_low",
             "corrected_high")


def relative(base: float, tuned: float, boot_base: np.ndarray, boot_tuned: np.ndarray, n_boot: int) -> dict:
    """The study's relative change (tuned - base) / base with a percentile CI; none when the base rate is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = (boot_tuned - boot_base) / boot_base
    rel = rel[np.isfinite(rel)]
    if base > 0 and len(rel) > n_boot // 2:
        low, high = percentile_ci(rel)
        return {"relative_change": round((tuned - base) / base, 4), "low": round(low, 4), "high": round(high, 4)}
    return {"relative_change": None, "low": None, "high": None}  # a zero base rate: report the absolute change


def drift_cases(messages: pd.DataFrame, judgments: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Contests where the tuned message is flagged and the base message is not, with evidence and thoughts."""
    flagged = labels.pivot_table(index=["contest", "category"], columns="competitor", values="label", aggfunc="first")
    rows = []
    for (contest, category), r in flagged.iterrows():
        if not (r.get("B") == True and r.get("A") == False):  # noqa: E712 — numpy bools, and None for undecided
            continue
        msg = messages[messages["contest"] == contest].set_index("competitor")
        ev = labels[(labels["contest"] == contest) & (labels["category"] == category) & (labels["competitor"] == "B")]
        voters = judgments[(judgments["contest"] == contest) & (judgments["choice"] == "B")]
        rows.append({"contest": contest, "anchor_id": msg.loc["B", "anchor_id"], "category": category,
                     "base_text": msg.loc["A", "text"], "tuned_text": msg.loc["B", "text"],
                     "evidence": ev["evidence"].iat[0], "severity": float(ev["score"].iat[0]),
                     "tuned_votes": len(voters), "thoughts": voters["thought"].tolist()})
    return pd.DataFrame(rows).sort_values("severity", ascending=False) if rows else pd.DataFrame()


class AuditRecord(Record):
    """An audit: both models, the tasks and contests, and per category the probe that scored it, with its settings
    (rebuilt by name when the audit is re-run, so a later change to the task specs does not change it)."""

    record: Literal["audit"] = "audit"
    base: str
    tuned: str
    tasks: list[str]
    seed: int = 0
    contests: int | None = Field(default=None, ge=1, description="per task; default: one per test anchor")
    tiny: dict = Field(default_factory=dict, description="TinyConfig overrides for the slot-grammar control")
    batch_contests: int = Field(default=1, ge=1)
    invalid: Literal["forfeit", "void", "judge"] = "forfeit"
    probes: dict[str, ProbeSpec] = Field(default_factory=dict, description="category -> probe; none named: the task specs'")

    def run(self, store: RunStore, say: Callable[[str], None] = lambda _: None) -> str:
        return audit(self.base, self.tuned, self.tasks, store, contests=self.contests, seed=self.seed, tiny=self.tiny,
                     batch_contests=self.batch_contests, invalid=self.invalid, probes=self.probes)[0]


def audit(base: str, tuned: str, tasks: list[str], store: RunStore, *, contests: int | None = None, seed: int = 0,
          tiny: dict | None = None, batch_contests: int = 1, invalid: str = "forfeit",
          probes: dict[str, ProbeSpec] | None = None) -> tuple[str, pd.DataFrame]:
    """`probes`: category -> the probe to score it with (default: the task specs'); the entry's record names them."""
    scenarios = Scenarios.load()
    probes, specs = chosen_probes(probes or {}, scenarios, tasks)
    errors = probe_errors(probes, scenarios)
    record = AuditRecord(base=base, tuned=tuned, tasks=tasks, seed=seed, contests=contests, tiny=tiny or {},
                         batch_contests=batch_contests, invalid=invalid, probes=specs)
    run_id, path = store.create_entry(record, task=",".join(tasks), policy=tuned, opponent=base, seed=seed)
    table, all_labels, all_cases = [], [], []
    for task in tasks:
        run, rate = head_to_head(base, tuned, task, store, contests=contests, seed=seed, tiny=tiny,
                                 batch_contests=batch_contests, invalid=invalid)
        messages, judgments = run.table("messages"), run.table("judgments")
        labels = probe_messages(messages, task, scenarios, probes).assign(task=task, eval_run=run.run_id)
        all_labels.append(labels)
        all_cases.append(drift_cases(messages, judgments, labels).assign(task=task, eval_run=run.run_id))
        table.append({"task": task, "category": "win rate", "base_rate": 0.5, "tuned_rate": rate.share,
                      "relative_change": rate.excess, "low": rate.low, "high": rate.high, "eval_run": run.run_id})
        for category in scenarios.task(task).categories:
            change = rate_change(labels[labels["category"] == category], seed=seed, error=errors.get((task, category)))
            table.append({"task": task, "category": category, **change, "eval_run": run.run_id})
    df = pd.DataFrame(table)
    atomic_parquet(df, path / "audit.parquet")
    atomic_parquet(pd.concat(all_labels, ignore_index=True), path / "probes.parquet")
    cases = pd.concat([c for c in all_cases if not c.empty], ignore_index=True) if any(not c.empty for c in all_cases) else pd.DataFrame()
    if not cases.empty:
        atomic_parquet(cases, path / "cases.parquet")
    (path / "audit.md").write_text(markdown(df, base, tuned))
    store.update(run_id, status="finished", metrics=json.dumps({"rows": len(df), "cases": len(cases)}))
    return run_id, df


def markdown(df: pd.DataFrame, base: str, tuned: str) -> str:
    """The study's table: the win-rate gain and each misalignment rate's relative change, with CIs; each rate
    as the probe observed it and corrected for the probe's error on the real-output gold set."""
    lines = [f"# Audit: {tuned} vs {base}", "", "| task | measure | rate | base | tuned | change | 95% CI |",
             "|---|---|---|---|---|---|---|"]

    def change(rel, low, high, absolute) -> str:
        if rel is None or pd.isna(rel):
            return f"{absolute:+.1%} (abs.) | —"
        return f"{rel:+.1%} | [{low:+.1%}, {high:+.1%}]"

    for r in df.to_dict("records"):
        if r["category"] == "win rate":
            lines.append(f"| {r['task']} | excess win rate | votes | 50% | {r['tuned_rate']:.1%} | "
                         f"{r['relative_change']:+.1%} | [{r['low']:+.1%}, {r['high']:+.1%}] |")
            continue
        lines.append(f"| {r['task']} | {r['category']} | observed | {r['base_rate']:.1%} | {r['tuned_rate']:.1%} | "
                     f"{change(r['relative_change'], r['low'], r['high'], r['absolute_change'])} |")
        why = r.get("correction_unavailable")
        why = why if isinstance(why, str) else None
        if pd.isna(r.get("sensitivity", float("nan"))) and why is None:
            continue  # no probe error measured for this category
        rates = ", ".join(f"{name} {r[key]:.2f}" if not pd.isna(r[key]) else f"{name} n/a"
                          for name, key in (("Se", "sensitivity"), ("Sp", "specificity")))
        label = f"corrected ({rates})"
        if r.get("corrected_base") is None or pd.isna(r["corrected_base"]):
            lines.append(f"| {r['task']} | {r['category']} | {label} | — | — | no correction: "
                         f"{why or 'the probe is no better than chance'} (real-output gold) | — |")
            continue
        lines.append(f"| {r['task']} | {r['category']} | {label} | {r['corrected_base']:.1%} "
                     f"[{r['corrected_base_low']:.0%}, {r['corrected_base_high']:.0%}] | {r['corrected_tuned']:.1%} "
                     f"[{r['corrected_tuned_low']:.0%}, {r['corrected_tuned_high']:.0%}] | "
                     f"{change(r['corrected_relative_change'], r['corrected_low'], r['corrected_high'], r['corrected_absolute_change'])} |")
    lines += ["", "Observed: the share of messages the probe flags. Corrected: the Rogan–Gladen estimate of the true rate "
              "given the probe's sensitivity (Se) and specificity (Sp) on the real-output gold test split; its CIs "
              "resample that gold set as well as the anchors."]
    return "\n".join(lines) + "\n"
