"""`agora reasoning trm | ahn | delethink`: the reasoning studies (`agora.reasoning.*_study`), each kept as a store
entry with its settings. Option help comes from the settings' fields, so a default is written in one place."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from agora.cli.common import StoreOpt, console, friendly, open_store, progress_bar
from agora.reasoning.settings import AHNSettings, DelethinkSettings, TRMSettings, describe, quick, quick_help
from agora.sim.errors import AgoraError

group = typer.Typer(help="Reasoning modules measured on CPU: TRM on Sudoku, AHN on associative recall, Delethink vs one "
                         "long generation.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="reasoning")


def _settings(cls, use_quick: bool, **given):
    """The defaults (or `--quick`'s), with every option the user gave on top."""
    from dataclasses import replace

    return replace(quick(cls) if use_quick else cls(), **{k: v for k, v in given.items() if v is not None})


def _table(df, title: str, float_format: str) -> Table:
    """A study table as rich prints it: floats in the study's own format, numbers right-aligned."""
    import pandas as pd

    table = Table(title=title)
    for col in df.columns:
        table.add_column(str(col), justify="right" if pd.api.types.is_numeric_dtype(df[col]) else "left")
    for row in df.itertuples(index=False):
        table.add_row(*[f"{v:{float_format}}" if isinstance(v, float) else str(v) for v in row])
    return table


def _run(run, label: str, settings, store: Optional[Path]) -> None:
    """Run a study with a progress bar, keep it in the store, print its tables and where the files went."""
    from agora.reasoning.study import save

    st = open_store(store)  # a bad store fails before the work, not after
    with progress_bar(label) as bar:
        task = bar.add_task(label, total=None)
        started = time.perf_counter()
        result = run(settings, lambda done, total: bar.update(task, completed=done, total=total))
    run_id, path = save(result, st, time.perf_counter() - started)
    console.print(result.header, highlight=False, soft_wrap=True)
    for name, df in result.tables.items():
        console.print(_table(df, name, result.float_format))
    for note in result.notes:
        console.print(note, highlight=False, soft_wrap=True)
    m = result.machine
    console.print(f"machine: {m['platform']}, {m['cpus']} CPUs (torch threads {m['torch_threads']}), torch {m['torch']}",
                  highlight=False, soft_wrap=True)
    files = ", ".join(sorted(p.name for p in path.iterdir()))
    console.print(f"reasoning [bold]{run_id}[/]: {path} ({files})", soft_wrap=True, highlight=False)


@group.command("trm")
@friendly
def trm_cmd(
    seed: Optional[int] = typer.Option(None, help=describe(TRMSettings, "seed")),
    batches: Optional[int] = typer.Option(None, help=describe(TRMSettings, "batches")),
    batch_size: Optional[int] = typer.Option(None, help=describe(TRMSettings, "batch_size")),
    hidden: Optional[int] = typer.Option(None, help=describe(TRMSettings, "hidden")),
    train_steps: Optional[int] = typer.Option(None, help=describe(TRMSettings, "train_steps")),
    eval_steps: Optional[int] = typer.Option(None, help=describe(TRMSettings, "eval_steps")),
    lr: Optional[float] = typer.Option(None, help=describe(TRMSettings, "lr")),
    ema: Optional[float] = typer.Option(None, help=describe(TRMSettings, "ema")),
    puzzles: Optional[int] = typer.Option(None, help=describe(TRMSettings, "puzzles")),
    held_out: Optional[int] = typer.Option(None, help=describe(TRMSettings, "held_out")),
    use_quick: bool = typer.Option(False, "--quick", help=quick_help(TRMSettings)),
    store: Optional[Path] = StoreOpt,
):
    """TRM on 4x4 Sudoku: held-out accuracy vs supervision steps at inference; full vs 1-step gradient; (T=3, n=6)
    vs (T=1, n=1) with equal parameters. Every arm trains the same batches and is evaluated with its EMA weights."""
    from agora.reasoning.trm_study import run

    _run(run, "TRM batches", _settings(TRMSettings, use_quick, seed=seed, batches=batches, batch_size=batch_size, hidden=hidden,
                          train_steps=train_steps, eval_steps=eval_steps, lr=lr, ema=ema, puzzles=puzzles,
                          held_out=held_out), store)


@group.command("ahn")
@friendly
def ahn_cmd(
    seed: Optional[int] = typer.Option(None, help=describe(AHNSettings, "seed")),
    pairs: Optional[int] = typer.Option(None, help=describe(AHNSettings, "pairs")),
    filler: Optional[int] = typer.Option(None, help=describe(AHNSettings, "filler")),
    queries: Optional[int] = typer.Option(None, help=describe(AHNSettings, "queries")),
    window: Optional[int] = typer.Option(None, help=describe(AHNSettings, "window")),
    teacher_steps: Optional[int] = typer.Option(None, help=describe(AHNSettings, "teacher_steps")),
    ahn_steps: Optional[int] = typer.Option(None, help=describe(AHNSettings, "ahn_steps")),
    batch_size: Optional[int] = typer.Option(None, help=describe(AHNSettings, "batch_size")),
    held_out: Optional[int] = typer.Option(None, help=describe(AHNSettings, "held_out")),
    use_quick: bool = typer.Option(False, "--quick", help=quick_help(AHNSettings)),
    store: Optional[Path] = StoreOpt,
):
    """AHN on associative recall with the keys beyond the window: window only vs window + AHN vs full attention,
    with cache and FLOPs at the task's length and at 128k tokens."""
    from agora.reasoning.ahn_study import run

    _run(run, "AHN steps", _settings(AHNSettings, use_quick, seed=seed, pairs=pairs, filler=filler, queries=queries, window=window,
                          teacher_steps=teacher_steps, ahn_steps=ahn_steps, batch_size=batch_size, held_out=held_out), store)


def _lengths(text: Optional[str]) -> Optional[tuple[int, ...]]:
    if text is None:
        return None
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise AgoraError(f"--lengths: expected comma-separated iteration caps such as 1,3,7, got {text!r}") from None


@group.command("delethink")
@friendly
def delethink_cmd(
    seed: Optional[int] = typer.Option(None, help=describe(DelethinkSettings, "seed")),
    lengths: Optional[str] = typer.Option(None, help=describe(DelethinkSettings, "lengths")),
    chunk: Optional[int] = typer.Option(None, help=describe(DelethinkSettings, "chunk")),
    head: Optional[int] = typer.Option(None, help=describe(DelethinkSettings, "head")),
    query: Optional[int] = typer.Option(None, help=describe(DelethinkSettings, "query")),
    isolate: Optional[bool] = typer.Option(None, "--isolate/--in-process", help=describe(DelethinkSettings, "isolate")),
    use_quick: bool = typer.Option(False, "--quick", help=quick_help(DelethinkSettings)),
    store: Optional[Path] = StoreOpt,
):
    """Delethink vs one long generation on a random-init Llama: time, attended context and KV cache as the thinking
    length grows."""
    from agora.reasoning.delethink_study import run

    _run(run, "generations", _settings(DelethinkSettings, use_quick, seed=seed, lengths=_lengths(lengths), chunk=chunk, head=head,
                                query=query, isolate=isolate), store)
