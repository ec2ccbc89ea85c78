"""Curriculum 1 -> H vs training at H directly, at matched compute (issue 19): does lengthening the horizon step by
step reach a higher final vote share than training on H-message campaigns from the start, and how does misalignment
move with h?

Both arms are `agora.training.curriculum.run_curriculum` from one base on one task. The curriculum takes up to
`max_rounds_per_h` steps at each h = 1..H (one by default, so the threshold never cuts a horizon short); the direct arm
then takes as many steps at H as give the same number of campaign rounds written per rollout (the sum of the
curriculum's step horizons / H, to the nearest step: 1+2+3 = 2 x 3 at H = 3), with a threshold it never needs.
Each arm's generated tokens and optimiser steps are reported beside its result.

The final evaluation: `final_contests` held-out campaigns at H (`final_seed`), the base (A) against each arm's last
checkpoint (B), and the base against a second sample of itself on the same campaigns (the noise floor). Reported: B's
share of the final votes (bootstrap CI over anchors, `agora.experiments.evaluate.vote_share`); the rate of the task's
first audit category (sales: misrepresentation) as its best-validated probe flags it, per competitor with a Wilson
CI, and its change (`agora.experiments.audit.rate_change`), over all rounds and by round; the same rates after every
training step, on that step's held-out measure at its horizon (misalignment by h); tokens and wall times.

    python -m agora.experiments.curriculum_compare --out DIR [--horizon 3 --contests 8 --final-contests 12]

DIR gets runs/ (the store: both curriculum entries and every contest run), results.json, results.md and the tables
as Parquet (summary, by_step, by_round).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from agora.experiments.audit import probe_messages, rate_change
from agora.experiments.evaluate import vote_share
from agora.probes.validate import chosen_probes
from agora.sim.errors import AgoraError
from agora.sim.scenario import Scenarios
from agora.sim.stats import wilson
from agora.sim.store import Run, RunStore, atomic_parquet
from agora.training.config import TrainConfig
from agora.training.curriculum import run_curriculum
from agora.training.trainer import rollout


def flagged(run: Run, task: str, category: str, scenarios: Scenarios, probes: dict) -> pd.DataFrame:
    """One row per message of `run` for `category` (label, competitor, anchor) with the message's round."""
    messages = run.table("messages")
    labels = probe_messages(messages, task, scenarios, probes)
    labels = labels[labels["category"] == category].reset_index(drop=True)  # in the messages' order
    return labels.assign(round=messages["round"].to_numpy() if "round" in messages else 1)


def rate(labels: pd.DataFrame, who: str, side: str) -> dict:
    """`who`'s flagged share with its Wilson 95% CI (sound at 0 and n, where few messages are measured), as columns
    named for `side`; an undecided label counts as not flagged."""
    mine = labels.loc[labels["competitor"] == who, "label"].fillna(False).astype(bool)
    k, n = int(mine.sum()), len(mine)
    low, high = wilson(k, n)
    return {f"{side} flagged": k, f"{side} n": n, f"{side} rate": round(k / n, 4),
            f"{side} low": round(low, 4), f"{side} high": round(high, 4)}


def change(labels: pd.DataFrame, seed: int) -> dict:
    c = rate_change(labels, seed=seed)
    return {"change": c["relative_change"], "change low": c["low"], "change high": c["high"],
            "absolute change": c["absolute_change"]}


def compare(out: Path, *, task: str = "sales", policy: str = "smollm2", audience: str = "parametric", horizon: int = 3,
            contests: int = 8, eval_contests: int = 6, final_contests: int = 12, final_seed: int = 7,
            max_new_tokens: int = 64, threshold: float = 0.55, max_rounds_per_h: int = 1, seed: int = 0, epochs: int = 1,
            learning_rate: float = 5e-4, batch_size: int = 4, batch_contests: int = 3, invalid: str = "judge",
            tiny: dict | None = None) -> dict:
    """Train both arms, evaluate them and the noise floor, write the tables; returns results.json's content. The
    defaults are the measured run's (README): SmolLM2 on sales against the parametric audience, a rule-based control."""
    if bad := next((f"--{k} {v}" for k, v in (("horizon", horizon), ("final-contests", final_contests)) if v < 1), None):
        raise AgoraError(f"{bad}: use 1 or more")
    store = RunStore(out / "runs")
    config = TrainConfig(method="rft", task=task, policy=policy, contests=contests, audience=audience, seed=seed,
                         epochs=epochs, learning_rate=learning_rate, batch_size=batch_size, batch_contests=batch_contests,
                         invalid=invalid, tiny=tiny or {})
    scenarios = config.load_scenarios()
    category = next(iter(scenarios.task(task).categories))
    probes, _ = chosen_probes({}, scenarios, [task])
    started, seconds, arms = time.perf_counter(), {}, {}
    steps = {"curriculum": (list(range(1, horizon + 1)), threshold, max_rounds_per_h)}
    for arm in ("curriculum", "direct"):
        if arm == "direct":  # as many campaign rounds per rollout as the curriculum wrote
            steps[arm] = ([horizon], 1.0, max(1, round(arms["curriculum"].stages["horizon"].sum() / horizon)))
        t = time.perf_counter()
        arms[arm] = run_curriculum(config, store, *steps[arm], say=print, eval_contests=eval_contests,
                                   max_new_tokens=max_new_tokens)
        seconds[f"{arm} train"] = round(time.perf_counter() - t, 1)

    def final(opponent: str | None, name: str) -> Run:
        t = time.perf_counter()
        run = rollout(config, store, policy, final_seed, final_contests, "test", horizon=horizon, opponent=opponent,
                      max_new_tokens=max_new_tokens)
        seconds[f"{name} eval"] = round(time.perf_counter() - t, 1)
        return run

    summary, by_step, by_round = [], [], []
    for arm, result in arms.items():
        run = final(f"hf:{result.checkpoint}", arm)
        share = vote_share(run.table("contests"), "B", seed=final_seed)
        labels = flagged(run, task, category, scenarios, probes)
        messages = run.table("messages")
        invalid_share = (messages["invalid"] != "").groupby(messages["competitor"]).mean().round(4)
        stages = result.stages
        summary.append({"arm": arm, "horizons trained": "→".join(map(str, stages["horizon"])), "entry": result.run_id,
                        "eval run": run.run_id, **{k: int(stages[k].sum()) for k in
                                                   ("rollout_tokens", "eval_tokens", "optimiser_steps", "examples")},
                        "share": share.share, "share low": round(share.low + 0.5, 4),
                        "share high": round(share.high + 0.5, 4), "votes": share.votes, **rate(labels, "A", "base"),
                        **rate(labels, "B", "tuned"),
                        **change(labels, final_seed), "invalid A": float(invalid_share.get("A", 0.0)),
                        "invalid B": float(invalid_share.get("B", 0.0)), "train seconds": seconds[f"{arm} train"],
                        "eval seconds": seconds[f"{arm} eval"]})
        for s in stages.itertuples():
            measured = flagged(store.open(s.eval_run), task, category, scenarios, probes)
            by_step.append({"arm": arm, "step": s.step, "h": s.horizon, "won campaigns": s.winners, "examples": s.examples,
                            "share": s.eval_share, "votes": s.eval_votes, **rate(measured, "A", "base"),
                            **rate(measured, "B", "tuned"), "eval run": s.eval_run})
        for r, at in labels.groupby("round"):
            by_round.append({"arm": arm, "round": int(r), **rate(at, "A", "base"), **rate(at, "B", "tuned"),
                             **change(at, final_seed)})
    control = final(None, "base vs base")
    floor_share = vote_share(control.table("contests"), "B", seed=final_seed)
    floor_labels = flagged(control, task, category, scenarios, probes)
    results = {
        "settings": {"task": task, "policy": policy, "audience": audience, "category": category, "horizon": horizon,
                     "contests": contests, "eval_contests": eval_contests, "final_contests": final_contests,
                     "final_seed": final_seed, "max_new_tokens": max_new_tokens, "threshold": threshold,
                     "max_rounds_per_h": max_rounds_per_h, "direct_steps": steps["direct"][2], "seed": seed,
                     "epochs": epochs, "learning_rate": learning_rate, "batch_size": batch_size,
                     "batch_contests": batch_contests, "invalid": invalid},
        "summary": summary, "by_step": by_step, "by_round": by_round,
        "noise_floor": {"eval run": control.run_id, "share": floor_share.share,
                        "share low": round(floor_share.low + 0.5, 4), "share high": round(floor_share.high + 0.5, 4),
                        "votes": floor_share.votes,
                        **rate(floor_labels, "A", "A"), **rate(floor_labels, "B", "B")},
        "seconds": seconds | {"total": round(time.perf_counter() - started, 1)},
    }
    out.mkdir(parents=True, exist_ok=True)
    for name in ("summary", "by_step", "by_round"):
        atomic_parquet(pd.DataFrame(results[name]), out / f"{name}.parquet")
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    (out / "results.md").write_text(markdown(results))
    return results


def markdown(res: dict) -> str:
    """results.json as the report's tables."""
    s = res["settings"]

    def pct(r: dict, side: str) -> str:
        return (f"{r[f'{side} rate']:.0%} [{r[f'{side} low']:.0%}, {r[f'{side} high']:.0%}] "
                f"({r[f'{side} flagged']}/{r[f'{side} n']})")

    def rel(r: dict) -> str:
        if r["change"] is None or pd.isna(r["change"]):
            return f"{r['absolute change']:+.1%} abs."  # no relative change where the base rate is (nearly always) 0
        return f"{r['change']:+.0%} [{r['change low']:+.0%}, {r['change high']:+.0%}]"

    H, what = s["horizon"], s["category"]
    lines = [f"# Campaigns: curriculum 1→{H} vs training at H = {H} directly", "",
             f"Policy {s['policy']}; audience {s['audience']}; task {s['task']}; final evaluation: {s['final_contests']} "
             f"held-out campaigns at H = {H} (seed {s['final_seed']}), base (A) vs tuned (B), {s['max_new_tokens']} new "
             f"tokens; {what} as its best-validated probe flags it.", "",
             f"| arm | horizons trained | rollout tokens | measure tokens | optimiser steps | examples | final vote share "
             f"at H={H} [95% CI] | {what} base | tuned | change [95% CI] | wall s |", "|---" * 11 + "|"]
    for r in res["summary"]:
        lines.append(f"| {r['arm']} | {r['horizons trained']} | {r['rollout_tokens']:,} | {r['eval_tokens']:,} | "
                     f"{r['optimiser_steps']} | {r['examples']} | {r['share']:.1%} [{r['share low']:.1%}, "
                     f"{r['share high']:.1%}] ({r['votes']} votes) | {pct(r, 'base')} | {pct(r, 'tuned')} | {rel(r)} | "
                     f"{r['train seconds']:.0f} + eval {r['eval seconds']:.0f} |")
    f = res["noise_floor"]
    lines += ["", f"Noise floor: the base against a second sample of itself on the same campaigns: B's share "
              f"{f['share']:.1%} [{f['share low']:.1%}, {f['share high']:.1%}] ({f['votes']} votes); {what} "
              f"{pct(f, 'A')} (A) and {pct(f, 'B')} (B).", "",
              "## By horizon: the held-out measure after each step (at that step's horizon)", "",
              f"| arm | step | h | won campaigns | examples | vote share (B) | {what} base | tuned |", "|---" * 8 + "|"]
    lines += [f"| {r['arm']} | {r['step']} | {r['h']} | {r['won campaigns']} | {r['examples']} | {r['share']:.1%} | "
              f"{pct(r, 'base')} | {pct(r, 'tuned')} |" for r in res["by_step"]]
    lines += ["", f"## By round of the final H = {H} evaluation", "",
              f"| arm | round | {what} base | tuned | change [95% CI] |", "|---" * 5 + "|"]
    lines += [f"| {r['arm']} | {r['round']} | {pct(r, 'base')} | {pct(r, 'tuned')} | {rel(r)} |" for r in res["by_round"]]
    lines += ["", "Invalid messages in the final evaluation (share per competitor): "
              + "; ".join(f"{r['arm']}: A {r['invalid A']:.0%}, B {r['invalid B']:.0%}" for r in res["summary"]),
              "", "Rates: Wilson 95% CIs over messages; vote shares and changes ((tuned − base) / base): bootstrap over "
              f"anchors. Direct: {s['direct_steps']} steps at H = {H}, the curriculum's campaign rounds per rollout.",
              "", "```", json.dumps(s | {"seconds": res["seconds"]}, indent=2), "```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    for name, default in (("task", "sales"), ("policy", "smollm2"), ("audience", "parametric"), ("invalid", "judge")):
        p.add_argument(f"--{name}", default=default)
    for name, default in (("horizon", 3), ("contests", 8), ("eval-contests", 6), ("final-contests", 12),
                          ("final-seed", 7), ("max-new-tokens", 64), ("max-rounds-per-h", 1), ("seed", 0), ("epochs", 1),
                          ("batch-size", 4), ("batch-contests", 3)):
        p.add_argument(f"--{name}", type=int, default=default)
    for name, default in (("threshold", 0.55), ("learning-rate", 5e-4)):
        p.add_argument(f"--{name}", type=float, default=default)
    args = vars(p.parse_args())
    out = args.pop("out")
    try:
        compare(out, **args)
    except AgoraError as err:  # one line, as the agora command says it
        raise SystemExit(f"error: {err}") from None
    print((out / "results.md").read_text())
