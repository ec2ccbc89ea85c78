"""`agora train`: RFT / TFB on contest wins."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from agora.cli.common import ScenariosOpt, StoreOpt, console, friendly, open_store


def register(app: typer.Typer) -> None:
    app.command("train")(train)


@friendly
def train(
    method: str = typer.Option("rft", help="rft (winners) | tfb (winners + audience thoughts)"),
    task: str = typer.Option("sales", help="a task of the scenarios folder: sales | election | social as shipped"),
    policy: str = typer.Option("smollm2", help="base policy with local weights: smollm2 | hf:PATH|FILE.gguf | tiny (control)"),
    rounds: int = typer.Option(1, min=1, help="generate -> judge -> train cycles"),
    contests: int = typer.Option(192, min=1, help="contests per round on the train anchors"),
    audience: str = typer.Option("parametric", help="the audience whose votes are optimised"),
    seed: int = typer.Option(0),
    thought_share: float = typer.Option(0.5, help="TFB: share of thought examples"),
    epochs: Optional[int] = typer.Option(None, help="default: 3 (tiny, full tune) or 1 (LoRA, the study)"),
    learning_rate: Optional[float] = typer.Option(None, help="default: 5e-4 (tiny) or 2e-4 (LoRA)"),
    lora: Optional[bool] = typer.Option(None, "--lora/--full-tune", help="default: LoRA for a pretrained model, full tune for tiny"),
    batch_contests: int = typer.Option(1, min=1, help="contests written and judged per batch"),
    inoculation: Optional[str] = typer.Option(None, help="inoculation prompt: a name from scenarios/prompts.yaml or text"),
    placement: str = typer.Option("user", help="where the inoculation goes in a chat prompt: user | system"),
    invalid: str = typer.Option("forfeit", help="a contest with an invalid candidate: forfeit | void | judge (counted either way)"),
    store: Optional[Path] = StoreOpt,
    scenarios: Optional[Path] = ScenariosOpt,
):
    """Fine-tune a policy on the contests it wins (RFT) and on what the audience thinks (TFB), optionally inoculated."""
    from agora.training.config import TrainConfig
    from agora.training.trainer import AudienceTrainer

    config = TrainConfig(method=method, task=task, policy=policy, rounds=rounds, contests=contests, audience=audience,
                         seed=seed, thought_share=thought_share, epochs=epochs, learning_rate=learning_rate,
                         inoculation=inoculation, placement=placement, lora=lora, batch_contests=batch_contests,
                         invalid=invalid, scenarios=str(scenarios) if scenarios else None)
    result = AudienceTrainer(config, open_store(store), say=lambda m: console.print(m, highlight=False)).train()
    console.print(result.rounds.drop(columns=["checkpoint"]).to_string(index=False))
    console.print(f"training run [bold]{result.run_id}[/] finished; policy: hf:{result.checkpoint}", soft_wrap=True, highlight=False)
