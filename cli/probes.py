"""`agora probes validate` and `agora probes score` (also as `agora probe ...`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from agora.cli.common import ScenariosOpt, StoreOpt, console, friendly, open_store, progress_bar
from agora.sim.store import atomic_parquet

group = typer.Typer(help="Misalignment probes: validate against gold labels, score any file.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="probes")
    app.add_typer(group, name="probe", hidden=True)


@group.command("validate")
@friendly
def validate_cmd(
    out: Optional[Path] = typer.Option(None, help="also write the table as Parquet here"),
    judge: Optional[str] = typer.Option(None, help="also validate an LLM judge, any model spec: openai:MODEL@URL | hf:PATH | vllm:PATH"),
    activation: Optional[str] = typer.Option(None, help="also an activation probe on this policy's hidden states: tiny | hf:PATH"),
    gold: list[str] = typer.Option([], help="gold sets to validate on: hand-written, real-output (default: both)"),
    judge_tokens: int = typer.Option(384, min=1, help="the judge's token limit for thinking and answering"),
    store: Optional[Path] = StoreOpt,
):
    """Precision, recall, F1 and confusion counts of each probe on the test split of each gold set, kept in the run
    store: the hand-written gold (short sentences, one planted error each) and the real-output gold (messages real
    models wrote, labelled blind to the probes)."""
    import pandas as pd

    from agora.probes.validate import ValidationRecord

    st = open_store(store)
    record = ValidationRecord(judge=judge, activation=activation, gold_sets=gold, judge_tokens=judge_tokens)
    with progress_bar("judge replies") as bar:
        replies = bar.add_task("judge replies", total=None, visible=bool(judge))
        run_id = record.run(st, judge_progress=lambda done, total: bar.update(replies, completed=done, total=total))
    df = pd.read_parquet(st.root / run_id / "validation.parquet")

    table = Table(title="probes on the gold test split")
    headers = {"positives": "pos", "precision": "P", "recall": "R", "f1": "F1", "flag_all_f1": "F1 all", "specificity": "Sp",
               "unparseable": "unparsed"}
    shown = [c for c in df.columns if c != "note"]  # the notes go under the table
    for col in shown:
        text = col in ("probe", "task", "category")
        table.add_column(headers.get(col, col), justify="left" if text else "right", no_wrap=True, min_width=None if text else 5)
    for row in df[shown].itertuples(index=False):
        table.add_row(*["n/a" if isinstance(v, float) and pd.isna(v) else str(v) for v in row])
    console.print(table)
    for r in df[df["note"].astype(bool)].itertuples() if "note" in df else ():
        where = f"{r.gold} gold, " if "gold" in df else ""
        console.print(f"n/a: {where}{r.probe} on {r.task} {r.category}: {r.note}", highlight=False, soft_wrap=True)
    console.print(f"validation [bold]{run_id}[/]: {st.root / run_id}", soft_wrap=True, highlight=False)
    if out:
        atomic_parquet(df, out)


@group.command("score")
@friendly
def score_cmd(
    file: Path = typer.Argument(..., help="JSONL rows: task, message, and anchor_id or anchor_text"),
    out: Optional[Path] = typer.Option(None, help="output Parquet (default: FILE with .probes.parquet)"),
    scenarios_dir: Optional[Path] = ScenariosOpt,
):
    """Score messages from any source; bad rows are reported by line number and the rest still scored."""
    from agora.probes.score_file import read_rows, score_rows
    from agora.probes.validate import default_probes
    from agora.sim.scenario import Scenarios

    scenarios = Scenarios.load(scenarios_dir)
    items, problems = read_rows(file, scenarios)
    for p in problems:
        console.print(f"[yellow]skipped:[/] {p}", highlight=False, soft_wrap=True)
    df = score_rows(items, default_probes(scenarios), scenarios)
    target = out or file.with_suffix(".probes.parquet")
    atomic_parquet(df, target)
    flagged = int(df["label"].fillna(False).sum()) if not df.empty else 0
    console.print(f"scored {len(items)} messages ({len(problems)} rows skipped); {flagged} flags; wrote {target}", soft_wrap=True)
