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
                                 "audit | train (audit and train run the tests' small control)"),
    fault: str = typer.Option("kill,disk,readonly", "--faults", help="comma-separated: kill | disk | readonly"),
    jobs: int = typer.Option(1, min=1, help="trials at a time (kill points are CPU times: a busy machine moves none)"),
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
        if row["fault"] == "kill":
            detail = (f"killed at {row['kill_cpu_s']} CPU s ({row['kill_wall_s']} s), {row['left_running']} processes "
                      f"left running " if row["struck"] else "missed: it had finished ") + detail
        console.print(f"trial {row['trial']:3d} {row['command']:<9} {row['fault']:<9} {verdict} rows lost "
                      f"{row['rows_lost']} {detail}", highlight=False, soft_wrap=True)

    try:
        rows = run_faults(out, trials, seed, commands.split(","), fault.split(","), report, jobs)
    except ValueError as err:
        raise AgoraError(f"agora faults: {err}") from None
    df = pd.DataFrame(rows)
    df.to_parquet(out / "faults.parquet", index=False)
    console.print(fault_table(df, f"{len(df)} fault trials, seed {seed} ({out / 'faults.parquet'})"))


def fault_table(df, title: str) -> Table:
    """Per command and fault: trials, faults that struck (a kill that came after the command ended missed), processes
    left running after a kill, one-line errors, intact indexes, stores equal after, and rows lost."""
    table = Table(title=title)
    columns = ("command", "fault", "trials", "struck", "missed", "left running", "one-line error", "index intact",
               "equal after", "rows (reference)", "rows lost", "passed")
    for col in columns:
        table.add_column(col, justify="left" if col in ("command", "fault") else "right")

    def counts(g, name):
        clear = g["clear"].dropna()
        left = int(g["left_running"].fillna(0).sum()) if "left_running" in g else 0
        return [name[0], name[1], str(len(g)), str(int(g["injected"].sum())), str(int((~g["injected"].astype(bool)).sum())),
                str(left) if (g["fault"] == "kill").any() else "—", f"{int(clear.sum())}/{len(clear)}" if len(clear) else "—",
                f"{int(g['index_intact'].sum())}/{len(g)}", f"{int(g['equal'].sum())}/{len(g)}", str(int(g["rows"].sum())),
                str(int(g["rows_lost"].sum())), f"{int(g['passed'].sum())}/{len(g)}"]

    for name, g in df.groupby(["command", "fault"], sort=False):
        table.add_row(*counts(g, name))
    table.add_section()
    table.add_row(*[f"[bold]{v}[/]" for v in counts(df, ("all", ""))])
    return table
