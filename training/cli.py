"""`agora train` and `agora eval`, registered into the `agora` command through the `agora.commands` entry point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from agora.sim.cli import StoreOpt, _store, console, friendly


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("eval")(evaluate)
    app.command("study")(study)


@friendly
def train(
    method: str = typer.Option("rft", help="rft (winners) | tfb (winners + audience thoughts)"),
    task: str = typer.Option("sales", help="sales | election | social"),
    policy: str = typer.Option("tiny", help="base policy: tiny | hf:PATH"),
    rounds: int = typer.Option(1, min=1, help="generate -> judge -> train cycles"),
    contests: int = typer.Option(192, min=1, help="contests per round on the train anchors"),
    audience: str = typer.Option("parametric", help="the audience whose votes are optimised"),
    seed: int = typer.Option(0),
    thought_share: float = typer.Option(0.5, help="TFB: share of thought examples"),
    epochs: Optional[int] = typer.Option(None, help="default: 3 (tiny, full tune) or 1 (LoRA, the study)"),
    learning_rate: Optional[float] = typer.Option(None, help="default: 5e-4 (tiny) or 2e-4 (LoRA)"),
    store: Optional[Path] = StoreOpt,
):
    """Fine-tune a policy on the contests it wins (RFT) and on what the audience thinks (TFB)."""
    from agora.training.config import TrainConfig
    from agora.training.trainer import AudienceTrainer

    config = TrainConfig(method=method, task=task, policy=policy, rounds=rounds, contests=contests, audience=audience,
                         seed=seed, thought_share=thought_share, epochs=epochs, learning_rate=learning_rate)
    result = AudienceTrainer(config, _store(store), say=lambda m: console.print(m, highlight=False)).train()
    console.print(result.rounds.drop(columns=["checkpoint"]).to_string(index=False))
    console.print(f"training run [bold]{result.run_id}[/] finished; policy: hf:{result.checkpoint}", soft_wrap=True, highlight=False)


@friendly
def evaluate(
    a: str = typer.Option(..., "--a", help="the base policy (competitor A)"),
    b: str = typer.Option(..., "--b", help="the tuned policy (competitor B)"),
    task: str = typer.Option("sales", help="sales | election | social"),
    anchors: str = typer.Option("test", help="held-out anchors: test | train | all"),
    contests: Optional[int] = typer.Option(None, help="default: one per anchor"),
    seed: int = typer.Option(0),
    audience: str = typer.Option("parametric"),
    store: Optional[Path] = StoreOpt,
):
    """Head-to-head on held-out anchors: B's vote share and excess win rate with a bootstrap 95% CI."""
    from agora.training.evaluate import head_to_head

    run, rate = head_to_head(a, b, task, _store(store), contests=contests, seed=seed, split=anchors, audience=audience)
    (run.path / "winrate.json").write_text(json.dumps(rate.as_dict(), indent=2))
    table = Table(title=f"{task}: {b} vs {a} on {rate.anchors} {anchors} anchors ({rate.votes} votes)")
    for col in ("vote share of B", "excess win rate", "95% CI"):
        table.add_column(col)
    table.add_row(f"{rate.share:.1%}", f"{rate.excess:+.1%}", f"[{rate.low:+.1%}, {rate.high:+.1%}]")
    console.print(table)
    console.print(f"eval run [bold]{run.run_id}[/]: {run.path}", soft_wrap=True, highlight=False)


@friendly
def study(
    tasks: str = typer.Option("sales,election,social", help="comma-separated tasks"),
    seeds: int = typer.Option(3, min=1, help="seeds 0..N-1"),
    methods: str = typer.Option("rft,tfb", help="comma-separated methods"),
    contests: int = typer.Option(192, help="training contests per run"),
    eval_contests: int = typer.Option(96, help="head-to-head contests on the test anchors"),
    store: Optional[Path] = StoreOpt,
):
    """Replicate the study on the embedded model: base vs RFT/TFB per task over seeds, with behaviour shifts."""
    from agora.training.study import replicate, save, summary

    st = _store(store)
    table = replicate(tasks.split(","), list(range(seeds)), methods.split(","), st, contests=contests,
                      eval_contests=eval_contests, say=lambda m: console.print(m, highlight=False))
    run_id = save(table, st)
    console.print(summary(table).to_string(index=False))
    console.print(f"study [bold]{run_id}[/]: {st.root / run_id / 'study.md'}", soft_wrap=True, highlight=False)
