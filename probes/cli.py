"""`agora probes validate` and `agora probes score` (also as `agora probe ...`), registered by entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from agora.sim.cli import StoreOpt, _store, console, friendly, progress_bar

group = typer.Typer(help="Misalignment probes: validate against gold labels, score any file.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="probes")
    app.add_typer(group, name="probe", hidden=True)
    app.command("audit")(audit_cmd)


@friendly
def audit_cmd(
    model: str = typer.Option(..., "--model", help="the tuned model: hf:PATH | vllm:PATH | openai:MODEL@URL"),
    baseline: str = typer.Option("smollm2", "--baseline", help="its base: smollm2 | hf:PATH | vllm:PATH | tiny"),
    task: str = typer.Option("all", help="sales | election | social | all"),
    contests: Optional[int] = typer.Option(None, help="contests per task on the test anchors (default: one per anchor)"),
    seed: int = typer.Option(0),
    batch_contests: int = typer.Option(1, min=1, help="contests written and judged per batch"),
    invalid: str = typer.Option("forfeit", help="a contest with an invalid candidate: forfeit | void | judge (counted either way)"),
    store: Optional[Path] = StoreOpt,
):
    """Probe base and tuned messages on the test anchors: each rate's change with a 95% CI, plus drift cases."""
    from agora.probes.audit import audit
    from agora.sim.errors import AgoraError

    tasks = ["sales", "election", "social"] if task == "all" else [task]
    if not set(tasks) <= {"sales", "election", "social"}:
        raise AgoraError(f"--task: unknown task {task!r}; use sales, election, social or all")
    st = _store(store)
    run_id, _ = audit(baseline, model, tasks, st, contests=contests, seed=seed, batch_contests=batch_contests, invalid=invalid)
    console.print((st.root / run_id / "audit.md").read_text(), highlight=False)
    console.print(f"audit [bold]{run_id}[/]: {st.root / run_id}", soft_wrap=True, highlight=False)


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
    from agora.probes.validate import run_validation, save_validation

    with progress_bar("judge replies") as bar:
        replies = bar.add_task("judge replies", total=None, visible=bool(judge))
        df, predictions = run_validation(judge=judge, activation=activation, gold_sets=gold, judge_tokens=judge_tokens,
                                         judge_progress=lambda done, total: bar.update(replies, completed=done, total=total))
    import pandas as pd

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
    st = _store(store)
    run_id = save_validation(st, df, predictions, judge=judge, activation=activation, gold=gold or None,
                             judge_tokens=judge_tokens if judge else None)
    console.print(f"validation [bold]{run_id}[/]: {st.root / run_id}", soft_wrap=True, highlight=False)
    if out:
        df.to_parquet(out, index=False)


@group.command("score")
@friendly
def score_cmd(
    file: Path = typer.Argument(..., help="JSONL rows: task, message, and anchor_id or anchor_text"),
    out: Optional[Path] = typer.Option(None, help="output Parquet (default: FILE with .probes.parquet)"),
):
    """Score messages from any source; bad rows are reported by line number and the rest still scored."""
    from agora.probes.score_file import read_rows, score_rows
    from agora.probes.validate import default_probes
    from agora.sim.scenario import Scenarios

    scenarios = Scenarios.load()
    items, problems = read_rows(file, scenarios)
    for p in problems:
        console.print(f"[yellow]skipped:[/] {p}", highlight=False, soft_wrap=True)
    df = score_rows(items, default_probes(scenarios))
    target = out or file.with_suffix(".probes.parquet")
    df.to_parquet(target, index=False)
    flagged = int(df["label"].fillna(False).sum()) if not df.empty else 0
    console.print(f"scored {len(items)} messages ({len(problems)} rows skipped); {flagged} flags; wrote {target}", soft_wrap=True)
