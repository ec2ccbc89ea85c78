"""`agora train`: RFT / TFB on contest wins, or GRPO on the share of votes won; `--curriculum 1..H`: RFT on campaign
wins along horizons, the same run as `agora curriculum --horizons 1..H`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from agora.cli.common import ScenariosOpt, StoreOpt, console, friendly, open_store
from agora.cli.curriculum import SETTINGS, EvalContestsOpt, MaxNewTokensOpt, MaxRoundsPerHOpt, ThresholdOpt, train_along
from agora.sim.errors import AgoraError


def register(app: typer.Typer) -> None:
    app.command("train")(train)


@friendly
def train(
    method: str = typer.Option("rft", help="rft (winners) | tfb (winners + audience thoughts) | grpo (reinforcement on vote share)"),
    task: str = typer.Option("sales", help="a task of the scenarios folder: sales | election | social as shipped"),
    policy: str = typer.Option("smollm2", help="base policy with local weights: smollm2 | hf:PATH|FILE.gguf | tiny (control)"),
    rounds: int = typer.Option(1, min=1, help="generate -> judge -> train cycles"),
    contests: int = typer.Option(192, min=1, help="contests per round on the train anchors"),
    audience: str = typer.Option("parametric", help="the audience whose votes are optimised"),
    seed: int = typer.Option(0),
    thought_share: float = typer.Option(0.5, help="TFB: share of thought examples"),
    epochs: Optional[int] = typer.Option(None, help="default: 3 (tiny, full tune) or 1 (LoRA, the study)"),
    learning_rate: Optional[float] = typer.Option(None, help="default: 5e-4 (tiny) or 2e-4 (LoRA)"),
    batch_size: int = typer.Option(16, min=1, help="examples per optimiser step (GRPO: completions, whole groups)"),
    warmup_ratio: float = typer.Option(0.03, help="share of steps warming up (rounded up to whole steps: 0 for a few steps)"),
    lora: Optional[bool] = typer.Option(None, "--lora/--full-tune", help="default: LoRA for a pretrained model, full tune for tiny"),
    batch_contests: int = typer.Option(1, min=1, help="contests written and judged per batch"),
    inoculation: Optional[str] = typer.Option(None, help="inoculation prompt: a name from scenarios/prompts.yaml or text"),
    placement: str = typer.Option("user", help="where the inoculation goes in a chat prompt: user | system"),
    invalid: str = typer.Option("forfeit", help="a contest with an invalid candidate: forfeit | void | judge (counted either way)"),
    group_size: int = typer.Option(4, help="GRPO: completions per prompt"),
    prompts: Optional[int] = typer.Option(None, help="GRPO: train anchors prompted per epoch (default: all)"),
    max_completion_length: int = typer.Option(160, help="GRPO: new tokens per completion at most"),
    temperature: float = typer.Option(0.7, help="GRPO: sampling temperature"),
    opponent: str = typer.Option("group", help="GRPO: judged against the rest of its group | base (the fixed base policy)"),
    kl_beta: float = typer.Option(0.0, help="GRPO: KL coefficient to the base"),
    probe_penalty: float = typer.Option(0.0, help="GRPO: weight of the misalignment term (subtracted)"),
    probe_category: Optional[list[str]] = typer.Option(None, help="GRPO: a category the penalty probes (repeatable; "
                                                                  "default: the task's first)"),
    grounding_weight: float = typer.Option(0.0, help="GRPO: weight of the fact-question grounding term (added)"),
    curriculum: Optional[str] = typer.Option(None, help="RFT on campaign wins along these horizons, e.g. 1..3 "
                                                        "(`agora curriculum --horizons`; the options below apply)"),
    threshold: float = ThresholdOpt,
    max_rounds_per_h: int = MaxRoundsPerHOpt,
    eval_contests: int = EvalContestsOpt,
    max_new_tokens: int = MaxNewTokensOpt,
    store: Optional[Path] = StoreOpt,
    scenarios: Optional[Path] = ScenariosOpt,
):
    """Fine-tune a policy on the contests it wins (RFT) and on what the audience thinks (TFB), optionally inoculated;
    or reinforce it on the share of audience votes each completion wins (GRPO), optionally safety-shaped; or, with
    --curriculum 1..H, train on campaign wins along horizons (`agora curriculum`)."""
    from agora.training.config import TrainConfig
    from agora.training.curriculum import parse_horizons
    from agora.training.trainer import AudienceTrainer

    steps = {"threshold": threshold, "max_rounds_per_h": max_rounds_per_h, "eval_contests": eval_contests,
             "max_new_tokens": max_new_tokens}
    if curriculum is None and (changed := [k for k, v in steps.items() if v != SETTINGS[k].default]):
        raise AgoraError(f"{', '.join('--' + k.replace('_', '-') for k in changed)}: curriculum settings; set "
                         "--curriculum 1..H or leave them alone")
    horizons = parse_horizons(curriculum, "--curriculum") if curriculum is not None else None  # before the weights
    if horizons and rounds != 1:
        raise AgoraError("--rounds: a curriculum takes up to --max-rounds-per-h steps at each horizon; leave --rounds at 1")
    config = TrainConfig(method=method, task=task, policy=policy, rounds=rounds, contests=contests, audience=audience,
                         seed=seed, thought_share=thought_share, epochs=epochs, learning_rate=learning_rate,
                         batch_size=batch_size, warmup_ratio=warmup_ratio, inoculation=inoculation, placement=placement, lora=lora,
                         batch_contests=batch_contests, invalid=invalid, scenarios=str(scenarios) if scenarios else None,
                         group_size=group_size, prompts=prompts, max_completion_length=max_completion_length,
                         temperature=temperature, opponent=opponent, kl_beta=kl_beta, probe_penalty=probe_penalty,
                         probe_categories=probe_category or None, grounding_weight=grounding_weight)
    if horizons:
        return train_along(config, horizons, store, **steps)
    result = AudienceTrainer(config, open_store(store), say=lambda m: console.print(m, highlight=False)).train()
    console.print(result.rounds.drop(columns=["checkpoint"]).to_string(index=False))
    console.print(f"training run [bold]{result.run_id}[/] finished; policy: hf:{result.checkpoint}", soft_wrap=True, highlight=False)
