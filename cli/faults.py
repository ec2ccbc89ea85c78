"""`agora faults`: kill, fill the disk under and lock the store of Agora's own commands, and count what it cost."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from agora.cli.common import console, friendly
from agora.sim.errors import AgoraError


def register(app: typer.Typer) -> None:
    app.command()(faults)


@friendly
def faults(
    out: Path = typer.Option(..., help="folder for the trials' stores and faults.json / faults.parquet"),
    trials: int = typer.Option(10, min=1, help="trials in all, spread over the commands and faults"),
    seed: int = typer.Option(0, help="draws the kill times and disk limits"),
    commands: str = typer.Option("run,sweep,validate,audit,train", help="comma-separated: run | sweep | validate | "
                                                                         "audit | train (audit and train use SmolLM2)"),
    fault: str = typer.Option("kill,disk,readonly", "--faults", help="comma-separated: kill | disk | readonly"),
):
    """Run Agora's commands under seeded faults (kill -9 at random points, a full disk, a read-only store), then what a
    user runs next; report per command and fault whether the index stayed intact, the error was one line, and the
    store ended equal to an uninterrupted run's, with the rows lost."""
    import pandas as pd

    from agora.bench.faults import run_faults

    if out.exists() and any(out.iterdir()):
        raise AgoraError(f"--out {out}: not empty; give a new folder (the trials' stores go there)")

    def report(row: dict) -> None:
        verdict = "[green]passed[/]" if row["passed"] else "[red]FAILED[/]"
        detail = row.get("again_error") or row.get("message") or ""
        console.print(f"trial {row['trial']:3d} {row['command']:<9} {row['fault']:<9} {verdict} rows lost "
                      f"{row['rows_lost']} {detail}", highlight=False, soft_wrap=True)

    try:
        rows = run_faults(out, trials, seed, commands.split(","), fault.split(","), report)
    except ValueError as err:
        raise AgoraError(f"agora faults: {err}") from None
    df = pd.DataFrame(rows)
    df.to_parquet(out / "faults.parquet", index=False)
    table = Table(title=f"{len(df)} fault trials, seed {seed} ({out / 'faults.parquet'})")
    for col in ("command", "fault", "trials", "injected", "one-line error", "index intact", "equal after", "rows lost",
                "passed"):
        table.add_column(col, justify="left" if col in ("command", "fault") else "right")
    for (command, kind), g in df.groupby(["command", "fault"], sort=False):
        clear = g["clear"].dropna()
        table.add_row(command, kind, str(len(g)), str(int(g["injected"].sum())),
                      f"{int(clear.sum())}/{len(clear)}" if len(clear) else "—", f"{int(g['index_intact'].sum())}/{len(g)}",
                      f"{int(g['equal'].sum())}/{len(g)}", str(int(g["rows_lost"].sum())), f"{int(g['passed'].sum())}/{len(g)}")
    console.print(table)
