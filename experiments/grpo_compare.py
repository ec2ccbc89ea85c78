"""GRPO vs RFT vs base at equal generated tokens (issue 19): train both from one base on one task, then audit each
against the base on the test anchors (`agora.experiments.audit`: win rate and every misalignment rate, with CIs).

RFT generates contests (two messages each, at a contest's token limit); GRPO generates groups (`group_size`
completions per prompt, at its own limit). RFT trains first; its generated tokens (its contest run's messages,
tokenised again, plus one end token for each message that ended by itself) set GRPO's number of prompts, so both
spend about the same generation. Each arm's training wall time is recorded beside its tokens.

    python -m agora.experiments.grpo_compare --out DIR [--rft-contests 16 --grpo-max-tokens 64 --audit-contests 48]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from agora.experiments.audit import audit
from agora.sim.stats import paired_bootstrap, percentile_ci
from agora.sim.store import RunStore, atomic_parquet
from agora.training.config import TrainConfig
from agora.training.data import generated_tokens
from agora.training.trainer import AudienceTrainer


def contest_tokens(store: RunStore, contest_run: str, base: Path) -> int:
    """Tokens an RFT round generated: each message's raw text in the base's tokenizer, plus the end token of those
    not cut off at the limit."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base, local_files_only=True)
    m = store.open(contest_run).table("messages")
    cut = (m["parse_status"] == "trimmed") | (m["invalid"] == "truncated")
    return int(generated_tokens(m, tok) + (~cut).sum())


def rate_ci(labels: pd.DataFrame, competitor: str, seed: int = 0) -> tuple[float, float, float]:
    """A competitor's flagged share and its 95 % CI, anchors resampled."""
    per = labels[labels["competitor"] == competitor].assign(y=lambda d: d["label"].fillna(False).astype(float))
    per = per.groupby("anchor_id")["y"].agg(["sum", "count"])
    s, n = per["sum"].to_numpy(), per["count"].to_numpy()
    low, high = percentile_ci(paired_bootstrap((s, n), lambda s, n: s.sum(1) / n.sum(1), 2000, seed))
    return s.sum() / n.sum(), low, high


def arm_rows(arm: str, store: RunStore, audit_id: str, base_rows: bool) -> list[dict]:
    """One row per measure for the tuned side of an audit (and, once, for the base side)."""
    table = pd.read_parquet(store.root / audit_id / "audit.parquet")
    labels = pd.read_parquet(store.root / audit_id / "probes.parquet")
    rows = []
    for r in table.to_dict("records"):
        if r["category"] == "win rate":
            rows.append({"arm": arm, "measure": "win rate vs base", "rate": r["tuned_rate"], "low": r["low"] + 0.5,
                         "high": r["high"] + 0.5, "change vs base": r["relative_change"], "change low": r["low"],
                         "change high": r["high"], "audit": audit_id})
            continue
        sub = labels[labels["category"] == r["category"]]
        for side, name in (("B", arm), ("A", "base")) if base_rows else (("B", arm),):
            rate, low, high = rate_ci(sub, side)
            rows.append({"arm": name, "measure": r["category"], "rate": rate, "low": low, "high": high,
                         **({"change vs base": r["relative_change"], "change low": r["low"], "change high": r["high"]}
                            if side == "B" else {}), "audit": audit_id})
    return rows


def compare(out: Path, *, task: str = "sales", policy: str = "smollm2", seed: int = 0, rft_contests: int = 16,
            rft_batch: int = 4, group_size: int = 4, grpo_batch: int = 8, grpo_max_tokens: int = 64,
            audit_contests: int = 48, probe_penalty: float = 0.0, warmup_ratio: float = 0.0) -> pd.DataFrame:
    """Both arms train with `warmup_ratio` 0 by default: at a few steps, the study's 3 % rounds up to a whole first
    step at learning rate 0."""
    store = RunStore(out / "runs")
    timings, tokens, arms = {}, {}, {}
    started = time.perf_counter()
    rft_cfg = TrainConfig(method="rft", task=task, policy=policy, contests=rft_contests, seed=seed, batch_size=rft_batch,
                          batch_contests=rft_contests, warmup_ratio=warmup_ratio)
    rft = AudienceTrainer(rft_cfg, store, say=print).train()
    timings["rft"] = time.perf_counter() - started
    base = AudienceTrainer(rft_cfg, store).base_path()
    tokens["rft"] = contest_tokens(store, rft.rounds["contest_run"].iat[0], base)
    arms["rft"] = rft
    per_step = grpo_batch // group_size
    prompts = max(per_step, round(tokens["rft"] / (group_size * grpo_max_tokens) / per_step) * per_step)
    grpo_arms = {"grpo": 0.0} | ({f"grpo+probe{probe_penalty:g}": probe_penalty} if probe_penalty else {})
    for arm, penalty in grpo_arms.items():
        t = time.perf_counter()
        cfg = TrainConfig(method="grpo", task=task, policy=policy, seed=seed, group_size=group_size, batch_size=grpo_batch,
                          prompts=prompts, max_completion_length=grpo_max_tokens, probe_penalty=penalty,
                          warmup_ratio=warmup_ratio)
        arms[arm] = AudienceTrainer(cfg, store, say=print).train()
        timings[arm] = time.perf_counter() - t
        tokens[arm] = int(arms[arm].rounds["generated_tokens"].iat[0])
    rows = []
    for k, (arm, result) in enumerate(arms.items()):
        t = time.perf_counter()
        audit_id, _ = audit(policy, f"hf:{result.checkpoint}", [task], store, contests=audit_contests, seed=seed,
                            batch_contests=16)
        timings[f"audit {arm}"] = time.perf_counter() - t
        rows += [{**r, "train run": result.run_id, "generated tokens": tokens.get(r["arm"]),
                  "train seconds": round(timings.get(r["arm"], float("nan")), 1)}
                 for r in arm_rows(arm, store, audit_id, base_rows=k == 0)]
    df = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    atomic_parquet(df, out / "grpo_vs_rft.parquet")
    info = {"task": task, "policy": policy, "seed": seed, "rft_contests": rft_contests, "rft_batch": rft_batch,
            "group_size": group_size, "grpo_batch": grpo_batch, "grpo_max_tokens": grpo_max_tokens, "grpo_prompts": prompts,
            "audit_contests": audit_contests, "warmup_ratio": warmup_ratio, "audience": "parametric (rule-based control)", "tokens": tokens,
            "seconds": {k: round(v, 1) for k, v in timings.items()}, "total_seconds": round(time.perf_counter() - started, 1)}
    (out / "grpo_vs_rft.json").write_text(json.dumps(info, indent=2))
    (out / "grpo_vs_rft.md").write_text(markdown(df, info))
    return df


def markdown(df: pd.DataFrame, info: dict) -> str:
    pct = lambda v: "—" if v is None or pd.isna(v) else f"{v:.1%}"
    lines = [f"# GRPO vs RFT vs base: {info['policy']} on {info['task']}, audience {info['audience']}", "",
             "| arm | measure | rate [95% CI] | change vs base [95% CI] | generated tokens | train s |", "|---|---|---|---|---|---|"]
    for r in df.to_dict("records"):
        change = r.get("change vs base")
        change = "—" if change is None or pd.isna(change) else \
            f"{change:+.1%} [{r['change low']:+.1%}, {r['change high']:+.1%}]"
        tokens = "—" if pd.isna(r["generated tokens"]) else f"{int(r['generated tokens']):,}"
        seconds = "—" if pd.isna(r["train seconds"]) else f"{r['train seconds']:.0f}"
        lines.append(f"| {r['arm']} | {r['measure']} | {pct(r['rate'])} [{pct(r['low'])}, {pct(r['high'])}] | {change} | "
                     f"{tokens} | {seconds} |")
    lines += ["", "Win rate: the tuned model's share of votes against the base (excess = share − 50%). A misalignment "
              "change is relative, (tuned − base) / base, as the study reports it. CIs: bootstrap over test anchors.",
              "", "```", json.dumps(info, indent=2), "```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    for name, default in (("task", "sales"), ("policy", "smollm2")):
        p.add_argument(f"--{name}", default=default)
    for name, default in (("seed", 0), ("rft-contests", 16), ("rft-batch", 4), ("group-size", 4), ("grpo-batch", 8),
                          ("grpo-max-tokens", 64), ("audit-contests", 48)):
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--probe-penalty", type=float, default=0.0, help="also train a safety-shaped GRPO arm with this weight")
    p.add_argument("--warmup-ratio", type=float, default=0.0)
    args = vars(p.parse_args())
    out = args.pop("out")
    compare(out, **args)
    print((out / "grpo_vs_rft.md").read_text())
