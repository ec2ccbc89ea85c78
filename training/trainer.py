"""`AudienceTrainer`: rounds of generate -> judge -> fine-tune on wins, as in the study (which does one), or GRPO.

Each round runs contests on the train anchors with the current policy (an ordinary contest run in
the store), builds the RFT or TFB dataset from it, fine-tunes, and hands the new checkpoint to
the next round. The training run's folder keeps each round's dataset, checkpoint and stats:

    runs/<id>/config.yaml, rounds.parquet, round-1/{dataset/, checkpoint/}, ...

`method="grpo"` makes the same kind of entry in one round of reinforcement on vote shares (`agora.training.grpo`
says what its folder adds).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from agora.sim.config import RunConfig, SamplingConfig
from agora.sim.errors import AgoraError
from agora.sim.records import Record, settings_record
from agora.sim.runner import start_run
from agora.sim.store import Run, RunStore, atomic_parquet
from agora.sim.backends.spec import local_checkpoint
from agora.sim.tiny.control import TinyConfig
from agora.training.config import TrainConfig
from agora.training.data import examples, inoculate, mix
from agora.training.finetune import check_lora_targets, fine_tune
from agora.training.grpo import train_grpo


class Training(Record):
    """What a training run's record does; its fields are `TrainConfig`'s (`TrainRecord`)."""

    def run(self, store: RunStore, say: Callable[[str], None] = lambda _: None) -> str:
        return AudienceTrainer(self.settings(), store, say).train().run_id


TrainRecord = settings_record(TrainConfig, "train", Training)


@dataclass
class TrainResult:
    run_id: str
    path: Path
    rounds: pd.DataFrame

    @property
    def checkpoint(self) -> Path:
        return Path(self.rounds["checkpoint"].iat[-1])


class AudienceTrainer:
    def __init__(self, config: TrainConfig, store: RunStore, say: Callable[[str], None] = lambda _: None):
        self.config = config
        self.store = store
        self.say = say

    def base_path(self) -> Path:
        cfg = self.config
        return local_checkpoint(cfg.policy, scenarios=cfg.load_scenarios(), tiny=TinyConfig(**cfg.tiny))

    def train(self, run_id: str | None = None) -> TrainResult:
        """Train, or with a `run_id` that already finished (a resumed sweep), return that result. Training is
        not resumable mid-way: an unfinished entry of that id is discarded and trained again."""
        cfg = self.config
        if run_id and (done := self.store.root / run_id / "metrics.json").is_file():
            return TrainResult(run_id, done.parent, pd.read_parquet(done.parent / "rounds.parquet"))
        if run_id:
            shutil.rmtree(self.store.root / run_id, ignore_errors=True)
        policy_path = self.base_path()  # a bad path or LoRA target fails before anything is written
        check_lora_targets(policy_path, cfg)
        inoculation = cfg.load_scenarios().instruction(cfg.task, cfg.inoculation)
        planned = cfg.epochs * cfg.prompts if cfg.method == "grpo" else cfg.rounds * cfg.contests  # GRPO: prompt groups
        run_id, path = self.store.create_entry(
            TrainRecord(**cfg.to_dict()), run_id=run_id, task=cfg.task, policy=cfg.policy, audience=cfg.audience, seed=cfg.seed,
            contests_planned=planned,
        )
        self.store.update(run_id, status="running")
        try:
            if cfg.method == "grpo":
                rounds = [train_grpo(cfg, policy_path, path, run_id, self.say)]
                atomic_parquet(pd.DataFrame(rounds), path / "rounds.parquet")
            else:
                rounds = self._rounds(policy_path, path, run_id, inoculation)
        except KeyboardInterrupt:
            self.store.update(run_id, status="interrupted")
            raise
        except Exception:
            self.store.update(run_id, status="failed")
            raise
        metrics = {"checkpoint": rounds[-1]["checkpoint"], "rounds": len(rounds), "examples": int(sum(x["examples"] for x in rounds))}
        (path / "metrics.json").write_text(json.dumps(metrics, indent=2))
        self.store.update(run_id, status="finished", contests_done=planned, metrics=json.dumps(metrics))
        return TrainResult(run_id, path, pd.DataFrame(rounds))

    def _rounds(self, policy_path: Path, path: Path, run_id: str, inoculation: str) -> list[dict]:
        """RFT / TFB: each round's contests, dataset and fine-tune, from the previous round's checkpoint."""
        cfg = self.config
        rounds = []
        for r in range(1, cfg.rounds + 1):
            self.say(f"round {r}/{cfg.rounds}: {cfg.contests} contests with {policy_path.name}")
            contest_run = rollout(cfg, self.store, f"hf:{policy_path}", cfg.seed * 1000 + r, cfg.contests, "train")
            ex = examples(contest_run.table("messages"), contest_run.table("judgments"), contest_run.table("contests"),
                          contest_run.run_id)
            rows = inoculate(mix(ex, cfg.method, cfg.thought_share, cfg.seed + r), inoculation, cfg.placement)
            round_dir = path / f"round-{r}"
            save_dataset(rows, round_dir / "dataset")
            self.say(f"round {r}: {len(ex.winners)} winners, {ex.ties} ties and {ex.invalid} contests with an invalid "
                     f"candidate excluded, {len(rows)} examples; fine-tuning")
            lineage = {"method": cfg.method, "round": r, "contest_run": contest_run.run_id, "training_run": run_id,
                       "inoculation": inoculation}
            stats = fine_tune(policy_path, rows, cfg, round_dir / "checkpoint", lineage)
            policy_path = round_dir / "checkpoint"
            rounds.append({"round": r, "contest_run": contest_run.run_id, "winners": len(ex.winners), "ties": ex.ties,
                           "invalid_contests": ex.invalid,
                           "thought_examples": len(rows) - len(ex.winners), "checkpoint": str(policy_path), **stats})
            atomic_parquet(pd.DataFrame(rounds), path / "rounds.parquet")
        return rounds


def rollout(config: TrainConfig, store: RunStore, policy: str, seed: int, n: int, split: str, *, horizon: int = 1,
            opponent: str | None = None, max_new_tokens: int = SamplingConfig().max_new_tokens) -> Run:
    """A contest run of `n` contests (campaigns of `horizon` messages) with the training's task, audience, scenarios
    and contest rules: `policy` against itself, or (A) against `opponent` (B)."""
    return start_run(RunConfig(task=config.task, contests=n, seed=seed, split=split, policy=policy, opponent=opponent,
                               audience=config.audience, horizon=horizon, tiny=config.tiny, invalid=config.invalid,
                               batch_contests=config.batch_contests, scenarios=config.scenarios,
                               sampling=SamplingConfig(max_new_tokens=max_new_tokens)), store)


def save_dataset(rows: list[dict], out: Path) -> None:
    """The round's dataset as Hugging Face `datasets`, provenance columns included."""
    from datasets import Dataset

    if not rows:
        raise AgoraError("no examples to save")
    text = lambda v: v if isinstance(v, str) else json.dumps(v)  # chat prompts stored as JSON text
    Dataset.from_list([{**r, "prompt": text(r["prompt"]), "completion": text(r["completion"])} for r in rows]).save_to_disk(out)
