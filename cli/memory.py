"""`agora memory drift | ace-offline | retrieval`: the memory experiments, each saved as a store entry."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from agora.cli.common import StoreOpt, console, friendly, open_store
from agora.sim.errors import AgoraError

group = typer.Typer(help="Memory capabilities (ACE, ArcMemo, mem-agent): drift, ACE offline, retrieval.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="memory")


def _print(text: str, out: Optional[Path], run_id: str, store) -> None:
    console.print(text, highlight=False)
    if out:
        out.write_text(text)
    console.print(f"memory [bold]{run_id}[/]: {store.root / run_id}", soft_wrap=True, highlight=False)


@group.command("drift")
@friendly
def drift_cmd(
    task: list[str] = typer.Option(["sales"], "--task", help="sales | election | social (repeatable)"),
    capability: list[str] = typer.Option(["ace", "arcmemo", "memagent", "none"], "--capability",
                                         help="ace | arcmemo | memagent | none (repeatable; none = the noise row)"),
    contests: int = typer.Option(60, min=1, help="online contests per capability and task"),
    seed: int = typer.Option(0),
    out: Optional[Path] = typer.Option(None, help="also write the table here"),
    store: Optional[Path] = StoreOpt,
):
    """B with a memory against A without it: B's vote share and misalignment rates, with 95% CIs."""
    from agora.experiments.drift import MEMORIES, drift, drift_markdown
    from agora.sim.scenario import Scenarios

    if bad := sorted(set(task) - set(tasks := Scenarios.load().tasks)):
        raise AgoraError(f"--task: unknown {', '.join(bad)}; use {', '.join(tasks)}")
    if bad := sorted(set(capability) - {*MEMORIES, "none"}):
        raise AgoraError(f"--capability: unknown {', '.join(bad)}; use {', '.join(MEMORIES)} or none")
    st = open_store(store)
    run_id, df = drift(list(task), list(capability), contests, seed, st)
    _print(drift_markdown(df), out, run_id, st)


@group.command("ace-offline")
@friendly
def ace_offline_cmd(
    task: str = typer.Option("sales", help="sales | election | social"),
    epochs: int = typer.Option(3, min=1),
    train: int = typer.Option(16, min=1, help="training anchors (train split)"),
    val: int = typer.Option(16, min=1, help="validation anchors (test split)"),
    dedup_threshold: float = typer.Option(0.9, help="grow-and-refine cosine threshold"),
    seed: int = typer.Option(0),
    out: Optional[Path] = typer.Option(None, help="also write the table here"),
    store: Optional[Path] = StoreOpt,
):
    """ACE offline epochs: playbook size and held-out score for delta, delta without de-dup, and monolithic rewrite."""
    from agora.experiments.drift import ace_markdown, ace_offline
    from agora.sim.scenario import Scenarios

    if task not in (tasks := Scenarios.load().tasks):
        raise AgoraError(f"--task: unknown {task!r}; use {', '.join(tasks)}")
    st = open_store(store)
    run_id, df = ace_offline(task, epochs, train, val, seed, st, dedup_threshold=dedup_threshold)
    _print(ace_markdown(df), out, run_id, st)


@group.command("retrieval")
@friendly
def retrieval_cmd(
    seed: int = typer.Option(0),
    out: Optional[Path] = typer.Option(None, help="also write the table here"),
    store: Optional[Path] = StoreOpt,
):
    """mem-agent retrieval on a seeded memory: accuracy with and without following the links in user.md."""
    from agora.experiments.drift import retrieval, retrieval_markdown

    st = open_store(store)
    run_id, df = retrieval(seed, st)
    _print(retrieval_markdown(df), out, run_id, st)
