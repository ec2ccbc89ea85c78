"""`agora train --method grpo`: TRL's GRPOTrainer on the share of audience votes each completion wins.

Each step samples `group_size` completions for each of `batch_size / group_size` train anchors; the audience
judges every completion against the others of its group (or against the fixed base policy's message for the same
anchor), and the group-relative advantage of those vote shares, plus any reward terms the config names
(`agora.training.rewards`), moves a LoRA adapter (peft, RFT's settings). What the training entry keeps:

    runs/<id>/config.yaml          the record: every TrainConfig field
              rounds.parquet       one row: steps, completions, generated tokens, mean terms, seconds, checkpoint
              rewards.parquet      one row per completion: its tokens, the text voters read, each term and the total
              pairs.parquet        one row per judged pair: outcome, votes; judgments.parquet: one row per ballot
              steps.parquet        TRL's log of each step; provenance.json: base model, input hashes, seeds, versions
              round-1/checkpoint/  the adapter and tokenizer: `--policy hf:` / `agora audit --model hf:` read it
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from agora.sim.backends.base import Sampling, flatten_chat
from agora.sim.backends.embedded import model_manifest
from agora.sim.backends.hf import checkpoint_identity
from agora.sim.paths import atomic_dir
from agora.sim.policy import Policy, Written, load_policy
from agora.sim.records import file_sha256
from agora.sim.runner import load_audience
from agora.sim.schema import Anchor, TaskSpec
from agora.sim.store import atomic_parquet
from agora.sim.tiny.control import TinyConfig, manifest
from agora.training.config import TrainConfig
from agora.training.finetune import save_checkpoint, schedule, trainable
from agora.training.rewards import AudienceReward, penalty_probes


def train_grpo(cfg: TrainConfig, base: Path, path: Path, run_id: str, say: Callable[[str], None] = lambda _: None) -> dict:
    """Train from `base` into `path`/round-1/checkpoint; the stats row of rounds.parquet."""
    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    scenarios = cfg.load_scenarios()
    task = scenarios.task(cfg.task)
    tiny = TinyConfig(**cfg.tiny)
    anchors = list(scenarios.anchors(cfg.task, "train"))
    random.Random(cfg.seed).shuffle(anchors)
    anchors = anchors[: cfg.prompts]
    policy = load_policy(f"hf:{base}", scenarios=scenarios, tiny=tiny)
    prompts = [policy.prompt(task, a) for a in anchors]
    base_messages = None
    if cfg.opponent == "base":
        say(f"the base writes one message for each of {len(anchors)} anchors: the fixed opponent")
        base_messages = _base_messages(policy, task, anchors, prompts, cfg)
    policy.backend = None  # the trainer loads its own copy; this one only wrote the base's messages
    probes = penalty_probes(task, cfg.probe_categories) if cfg.probe_penalty else {}
    audience = load_audience(cfg.audience, scenarios, tiny)

    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True, padding_side="left")
    model, peft_config = trainable(base, cfg)
    eos = model.generation_config.eos_token_id
    stops = {t for t in [tokenizer.eos_token_id, tokenizer.pad_token_id, *(eos if isinstance(eos, list) else [eos])]
             if t is not None}
    reward = AudienceReward(task=task, anchors=anchors, personas=scenarios.personas, audience=audience, policy=policy,
                            group_size=cfg.group_size, max_tokens=cfg.max_completion_length, stops=stops,
                            invalid=cfg.invalid, seed=cfg.seed, base=base_messages, probes=probes,
                            probe_penalty=cfg.probe_penalty, grounding_weight=cfg.grounding_weight)
    chat = bool(getattr(tokenizer, "chat_template", None))
    dataset = Dataset.from_list([{"prompt": p if chat or isinstance(p, str) else flatten_chat(p), "anchor_id": a.id}
                                 for p, a in zip(prompts, anchors)])
    _save_provenance(cfg, base, scenarios, audience.identity, probes, path)

    class SaveTables(TrainerCallback):
        """The ledger to Parquet after every step: a run killed mid-way keeps what it scored."""

        def on_step_end(self, args, state, control, **kwargs):
            _save_tables(reward, path)

    cuda = torch.cuda.is_available()
    say(f"GRPO: {cfg.grpo_steps} steps of {cfg.batch_size // cfg.group_size} prompts x {cfg.group_size} completions "
        f"(at most {cfg.max_completion_length} tokens), judged by {cfg.audience} against the "
        f"{'base policy' if base_messages else 'rest of the group'}")
    with atomic_dir(path / "round-1" / "checkpoint") as work:
        args = GRPOConfig(
            output_dir=str(work / "trainer"),
            num_train_epochs=cfg.epochs,
            per_device_train_batch_size=cfg.micro_batch,
            gradient_accumulation_steps=cfg.batch_size // cfg.micro_batch,  # one generation batch per optimiser step
            num_generations=cfg.group_size,
            max_completion_length=cfg.max_completion_length,
            temperature=cfg.temperature,
            beta=cfg.kl_beta,
            reward_weights=reward.weights(),
            **schedule(cfg, cuda),
            seed=cfg.seed,
            save_strategy="no",
            report_to=[],
            logging_steps=1,
            dataloader_num_workers=0,
        )
        trainer = GRPOTrainer(model=model, reward_funcs=reward.functions(), args=args, train_dataset=dataset,
                              processing_class=tokenizer, peft_config=peft_config,
                              callbacks=[SaveTables()])
        started = time.perf_counter()
        result = trainer.train()
        seconds = time.perf_counter() - started
        tables = _save_tables(reward, path)
        atomic_parquet(pd.DataFrame(trainer.state.log_history), path / "steps.parquet")
        rewards = tables["rewards"]
        stats = {"round": 1, "examples": len(rewards), "steps": int(result.global_step),
                 "loss": round(result.training_loss, 4), "seconds": round(seconds, 1), "lora": bool(cfg.lora),
                 "generated_tokens": int(rewards["tokens"].sum()), "invalid_completions": int((rewards["invalid"] != "").sum()),
                 **{f"mean_{t}": round(float(rewards[t].mean()), 4) for t in ("votes", "misalignment", "grounding", "reward")
                    if t in rewards}}
        lineage = {"method": "grpo", "training_run": run_id, "audience": audience.identity, "opponent": cfg.opponent}
        save_checkpoint(trainer, tokenizer, work, base, {**lineage, **stats})
    return {**stats, "checkpoint": str(path / "round-1" / "checkpoint")}


def _base_messages(policy: Policy, task: TaskSpec, anchors: list[Anchor], prompts: list, cfg: TrainConfig
                   ) -> dict[str, tuple[str, Written]]:
    """The fixed opponent: one message of the base policy per anchor, sampled as GRPO samples, from the run's seed."""
    sampling = Sampling(temperature=cfg.temperature, max_new_tokens=cfg.max_completion_length, seed=cfg.seed)
    written = policy.backend.generate(prompts, sampling)
    return {a.id: (flatten_chat(p), policy.parse(task, a, w)) for a, p, w in zip(anchors, prompts, written)}


def _save_tables(reward: AudienceReward, path: Path) -> dict[str, pd.DataFrame]:
    tables = reward.tables()
    for name, df in tables.items():
        if not df.empty:
            atomic_parquet(df, path / f"{name}.parquet")
    return tables


def _save_provenance(cfg: TrainConfig, base: Path, scenarios, audience: str, probes: dict, path: Path) -> None:
    """What a reader needs to trust the numbers: the base model, the hash of every input file, seeds, versions."""
    task = scenarios.task(cfg.task)
    inputs = [scenarios.spec_path(cfg.task), scenarios.root / task.anchors, scenarios.root / "personas.yaml"]
    if cfg.audience == "parametric":
        inputs.append(scenarios.root / "audience" / "parametric.yaml")
    info = {
        "base": {"policy": cfg.policy, "path": str(base), "identity": checkpoint_identity(base),
                 "model": model_manifest(base) or manifest(base)},
        "audience": audience,
        "inputs": {str(p.relative_to(scenarios.root)): file_sha256(p) for p in inputs},
        "probes": {c: p.spec().model_dump(mode="json") for c, p in probes.items()},
        "seeds": {"training": cfg.seed, "note": "TRL's set_seed(seed) draws the LoRA init, the prompt order and every "
                  "sampled token; the anchors are a seeded shuffle of the train split; ballots of batch b, pair p use "
                  "Random((seed * 1000003 + b) * 10007 + p); the base's messages sample from seed"},
        "versions": {p: version(p) for p in ("agora", "trl", "peft", "transformers", "torch")},
    }
    (path / "provenance.json").write_text(json.dumps(info, indent=2, default=str))
