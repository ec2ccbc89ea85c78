"""A horizon curriculum: RFT on campaigns of h = 1 message first, lengthening h as the policy starts to win.

Long-horizon RL chains short problems into h-step ones, rewards only the final outcome and lengthens h along a
curriculum. Here an h-step problem is a campaign (`agora.sim.campaign`), and each step at horizon h is:

1. rollouts: `config.contests` campaigns of the current policy against itself on the train anchors (a contest run
   at horizon h, in the store);
2. RFT on campaign wins: each campaign the final vote decided gives its winner's h messages as examples, each
   conditioned on its round's prompt (which holds the winner's earlier messages): the final vote is the only
   reward, and every message of a winning campaign shares it;
3. a fine-tune with the `TrainConfig`'s settings (the trainer's step, `agora.training.finetune.fine_tune`);
4. the measure: `eval_contests` campaigns at horizon h on the held-out test anchors, the base policy (A) against the
   new checkpoint (B), always with the same contests; B's share of the final votes.

h moves to the next horizon once that share reaches `threshold`, or after `max_rounds_per_h` steps at h. Training at
H directly is the same call with `horizons=[H]` (and a threshold it never meets, to spend all its steps).

Compute is counted per step: generated tokens (the policy's tokenizer over what it wrote, so a call served from the
cache counts as the generation it stands for), rollouts and measurements apart, and optimiser steps.

The entry: runs/<id>/config.yaml (its record, from which `agora rerun <id>` trains it again), stages.parquet (one
row per step), step-<n>/{dataset/, checkpoint/}, metrics.json. The steps are made from `AudienceTrainer`'s parts
(its base checkpoint, LoRA check, contest runs, dataset writer and fine-tune), with campaigns at h in place of its
single contests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from agora.sim.config import SamplingConfig
from agora.sim.errors import AgoraError
from agora.sim.records import Record
from agora.sim.store import RunStore, atomic_json, atomic_parquet
from agora.training.config import TrainConfig
from agora.training.data import generated_tokens, inoculate, winner_examples
from agora.training.finetune import check_lora_targets, fine_tune
from agora.training.trainer import AudienceTrainer, rollout, save_dataset


class CurriculumRecord(Record):
    """A curriculum entry's record: the training settings and the curriculum's own (registered for `agora rerun` by
    its `agora.records` entry point)."""

    record: Literal["curriculum"] = "curriculum"
    train: dict
    horizons: list[int]
    threshold: float
    max_rounds_per_h: int
    eval_contests: int
    max_new_tokens: int

    def run(self, store: RunStore, say: Callable[[str], None] = lambda _: None) -> str:
        return run_curriculum(TrainConfig(**self.train), store, self.horizons, self.threshold, self.max_rounds_per_h,
                              say, eval_contests=self.eval_contests, max_new_tokens=self.max_new_tokens).run_id


@dataclass
class CurriculumResult:
    run_id: str
    path: Path
    stages: pd.DataFrame  # one row per step

    @property
    def checkpoint(self) -> Path:
        return Path(self.stages["checkpoint"].iat[-1])


def parse_horizons(text: str, flag: str = "--horizons") -> list[int]:
    """`1..3` -> [1, 2, 3]; `1,3` -> [1, 3]; `3` -> [3]: increasing horizons of at least 1. `flag`: the option an
    error names (`agora curriculum --horizons`, `agora train --curriculum`)."""
    try:
        if ".." in text:
            low, high = (int(x) for x in text.split(".."))
            horizons = list(range(low, high + 1))
        else:
            horizons = [int(x) for x in text.split(",")]
    except ValueError:
        raise AgoraError(f"{flag}: {text!r} is not a range or list of horizons; write 1..3 or 1,2,3") from None
    check_horizons(horizons, repr(text), flag)
    return horizons


def check_horizons(horizons: list[int], shown: str | None = None, flag: str = "--horizons") -> None:
    if not horizons or horizons[0] < 1 or any(b <= a for a, b in zip(horizons, horizons[1:])):
        raise AgoraError(f"{flag}: {shown or horizons} must be increasing horizons of at least 1, e.g. 1..3")


def campaign_wins(messages: pd.DataFrame, contests: pd.DataFrame, run_id: str) -> tuple[list[dict], int, int]:
    """(examples, ties, contests with an invalid message): every round's message of each decided campaign's winner
    (`winner_examples`). Ties and campaigns with an invalid message (a forfeit teaches nothing of persuasion) give
    none, as in RFT on single contests."""
    rounds = messages if "round" in messages else messages.assign(round=1)  # h = 1 rows are round 1 of 1
    rows, left_out = winner_examples(rounds, contests, run_id)
    ties = sum(not c.winner and c.contest not in left_out for c in contests.itertuples())
    return rows, ties, len(left_out)


def run_curriculum(config: TrainConfig, store: RunStore, horizons: list[int], threshold: float, max_rounds_per_h: int,
                   say: Callable[[str], None] = lambda _: None, *, eval_contests: int = 16,
                   max_new_tokens: int = SamplingConfig().max_new_tokens) -> CurriculumResult:
    """Train along `horizons` (see the module); the result's stages say, per step, the horizon, the rollouts and
    the measure (runs, winners, examples, tokens, optimiser steps, B's final vote share) and the checkpoint."""
    check_horizons(horizons)
    if config.method != "rft":
        raise AgoraError(f"--method: the curriculum trains by RFT on campaign wins; got {config.method!r}, use rft")
    if not 0 <= threshold <= 1:
        raise AgoraError(f"--threshold: a vote share in [0, 1], got {threshold}")
    if max_rounds_per_h < 1 or eval_contests < 1:
        raise AgoraError("--max-rounds-per-h and --eval-contests must be at least 1")
    from transformers import AutoTokenizer

    base = AudienceTrainer(config, store).base_path()  # a bad path or LoRA target fails before anything is written
    check_lora_targets(base, config)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    inoculation = config.load_scenarios().instruction(config.task, config.inoculation)
    record = CurriculumRecord(record="curriculum", train=config.to_dict(), horizons=horizons, threshold=threshold,
                              max_rounds_per_h=max_rounds_per_h, eval_contests=eval_contests, max_new_tokens=max_new_tokens)
    run_id, path = store.create_entry(record, task=config.task, policy=config.policy, audience=config.audience,
                                      seed=config.seed, contests_planned=len(horizons) * max_rounds_per_h * config.contests)
    store.update(run_id, status="running")

    policy, stages = base, []
    try:
        for h in horizons:
            for at_h in range(1, max_rounds_per_h + 1):
                step = len(stages) + 1
                say(f"step {step}: horizon {h} ({at_h}/{max_rounds_per_h}), {config.contests} campaigns with {policy.name}")
                played = rollout(config, store, f"hf:{policy}", config.seed * 1000 + step, config.contests, "train",
                                 horizon=h, max_new_tokens=max_new_tokens)
                rows, ties, invalid = campaign_wins(played.table("messages"), played.table("contests"), played.run_id)
                rows = inoculate(rows, inoculation, config.placement)
                stats = {"steps": 0, "loss": None, "seconds": 0.0}
                if rows:  # no decided campaign: nothing to learn this step, and the policy stays
                    save_dataset(rows, path / f"step-{step}" / "dataset")
                    say(f"step {step}: {len(rows)} examples from {len({r['contest'] for r in rows})} won campaigns; "
                        "fine-tuning")
                    lineage = {"method": "rft-campaign", "horizon": h, "step": step, "contest_run": played.run_id,
                               "training_run": run_id, "inoculation": inoculation}
                    stats = fine_tune(policy, rows, config, path / f"step-{step}" / "checkpoint", lineage)
                    policy = path / f"step-{step}" / "checkpoint"
                measure = rollout(config, store, config.policy, config.seed * 1000, eval_contests, "test", horizon=h,
                                  opponent=f"hf:{policy}", max_new_tokens=max_new_tokens)
                votes = measure.table("contests")["votes"]
                cast = int(sum(sum(v) for v in votes))
                share = sum(v[1] for v in votes) / cast if cast else float("nan")  # no vote: every campaign forfeit or void
                say(f"step {step}: held-out final vote share {share:.1%} of {cast} votes against the base at horizon {h}")
                stages.append({
                    "step": step, "horizon": h, "step_at_horizon": at_h, "rollout_run": played.run_id,
                    "eval_run": measure.run_id, "winners": len({r["contest"] for r in rows}), "ties": ties, "invalid_contests": invalid,
                    "examples": len(rows), "rollout_tokens": generated_tokens(played.table("messages"), tokenizer),
                    "eval_tokens": generated_tokens(measure.table("messages"), tokenizer),
                    "optimiser_steps": stats["steps"], "loss": stats["loss"], "train_seconds": stats["seconds"],
                    "eval_share": share, "eval_votes": cast, "met_threshold": share >= threshold, "checkpoint": str(policy),
                })
                atomic_parquet(pd.DataFrame(stages), path / "stages.parquet")
                if share >= threshold:
                    break
    except KeyboardInterrupt:
        store.update(run_id, status="interrupted")
        raise
    except Exception:
        store.update(run_id, status="failed")
        raise
    df = pd.DataFrame(stages)
    metrics = {"checkpoint": str(policy), "steps": len(df), "horizon_reached": int(df["horizon"].iat[-1]),
               "final_share": float(df["eval_share"].iat[-1]), "rollout_tokens": int(df["rollout_tokens"].sum()),
               "eval_tokens": int(df["eval_tokens"].sum()), "optimiser_steps": int(df["optimiser_steps"].sum()),
               "examples": int(df["examples"].sum())}
    atomic_json(metrics, path / "metrics.json", indent=2)
    store.update(run_id, status="finished", contests_done=len(df) * config.contests, metrics=json.dumps(metrics))
    return CurriculumResult(run_id, path, df)
