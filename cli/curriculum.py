"""`agora curriculum` (and `agora train --curriculum`): RFT on campaign wins along horizons h = 1 -> H
(`agora.training.curriculum`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from agora.cli.common import ScenariosOpt, StoreOpt, console, friendly, open_store

# the curriculum's own settings, shared with `agora train --curriculum` so both commands read them alike
ThresholdOpt = typer.Option(0.55, help="lengthen h once the held-out final vote share against the base reaches this")
MaxRoundsPerHOpt = typer.Option(2, min=1, help="lengthen h after this many steps at it, met or not")
EvalContestsOpt = typer.Option(16, min=1, help="held-out campaigns measured after each step")
MaxNewTokensOpt = typer.Option(160, min=1, help="tokens a campaign message may take")
SETTINGS = {"threshold": ThresholdOpt, "max_rounds_per_h": MaxRoundsPerHOpt, "eval_contests": EvalContestsOpt,
            "max_new_tokens": MaxNewTokensOpt}


def register(app: typer.Typer) -> None:
    app.command("curriculum")(curriculum)


def train_along(config, horizons: list[int], store: Optional[Path], *, threshold: float, max_rounds_per_h: int,
                eval_contests: int, max_new_tokens: int) -> None:
    """Run the curriculum and print its steps: the one path behind both commands."""
    from agora.training.curriculum import run_curriculum

    result = run_curriculum(config, open_store(store), horizons, threshold, max_rounds_per_h,
                            say=lambda m: console.print(m, highlight=False), eval_contests=eval_contests,
                            max_new_tokens=max_new_tokens)
    shown = ["step", "horizon", "winners", "examples", "rollout_tokens", "optimiser_steps", "eval_share", "met_threshold"]
    console.print(result.stages[shown].to_string(index=False))
    console.print(f"curriculum [bold]{result.run_id}[/] finished; policy: hf:{result.checkpoint}", soft_wrap=True,
                  highlight=False)


@friendly
def curriculum(
    horizons: str = typer.Option("1..3", help="the horizons in order: 1..3, 1,2,3, or 3 (training at H directly)"),
    threshold: float = ThresholdOpt,
    max_rounds_per_h: int = MaxRoundsPerHOpt,
    eval_contests: int = EvalContestsOpt,
    max_new_tokens: int = MaxNewTokensOpt,
    task: str = typer.Option("sales", help="a task of the scenarios folder: sales | election | social as shipped"),
    policy: str = typer.Option("smollm2", help="base policy with local weights: smollm2 | hf:PATH|FILE.gguf | tiny (control)"),
    contests: int = typer.Option(192, min=1, help="campaigns per step on the train anchors"),
    audience: str = typer.Option("parametric", help="the audience whose final votes are optimised"),
    seed: int = typer.Option(0),
    epochs: Optional[int] = typer.Option(None, help="default: 3 (tiny, full tune) or 1 (LoRA, the study)"),
    learning_rate: Optional[float] = typer.Option(None, help="default: 5e-4 (tiny) or 2e-4 (LoRA)"),
    batch_size: int = typer.Option(16, min=1, help="examples per optimiser step"),
    batch_contests: int = typer.Option(1, min=1, help="campaigns written and judged per batch"),
    inoculation: Optional[str] = typer.Option(None, help="inoculation prompt: a name from scenarios/prompts.yaml or text"),
    invalid: str = typer.Option("forfeit", help="a campaign with an invalid message: forfeit | void | judge"),
    store: Optional[Path] = StoreOpt,
    scenarios: Optional[Path] = ScenariosOpt,
):
    """Train on campaigns of h = 1 message, then longer ones as the policy wins: h lengthens at --threshold or after
    --max-rounds-per-h steps. `--horizons 3 --threshold 1` trains at H = 3 directly, for comparison."""
    from agora.training.config import TrainConfig
    from agora.training.curriculum import parse_horizons

    chosen = parse_horizons(horizons)  # before TrainConfig, which finds the model's weights
    config = TrainConfig(method="rft", task=task, policy=policy, contests=contests, audience=audience, seed=seed,
                         epochs=epochs, learning_rate=learning_rate, batch_size=batch_size, inoculation=inoculation,
                         batch_contests=batch_contests, invalid=invalid, scenarios=str(scenarios) if scenarios else None)
    train_along(config, chosen, store, threshold=threshold, max_rounds_per_h=max_rounds_per_h,
                eval_contests=eval_contests, max_new_tokens=max_new_tokens)
