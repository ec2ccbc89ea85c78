"""`agora factqa`: fact questions from anchors (`agora.experiments.knowledge`): build the dataset, run the eval."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from agora.cli.common import ScenariosOpt, StoreOpt, console, friendly, open_store

group = typer.Typer(help="Fact questions from anchors: a dataset in the store, and the knowledge-erosion eval.",
                    no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="factqa")


def _say(message: str) -> None:
    console.print(escape(message), highlight=False)


@group.command("build")
@friendly
def build(
    task: list[str] = typer.Option(["all"], help="a task of the scenarios folder, repeatable; all: every task"),
    writer: list[str] = typer.Option(["template"], help="template (from the structured facts) or a backend spec whose "
                                                        "model writes questions from the text (smollm2, openai:MODEL); repeatable"),
    seed: int = typer.Option(0),
    max_answer_words: int = typer.Option(5, min=1, help="the `short` check: longest answer kept"),
    llm_questions: int = typer.Option(5, min=1, help="questions asked of an LLM writer per anchor"),
    store: Optional[Path] = StoreOpt,
    scenarios: Optional[Path] = ScenariosOpt,
):
    """Write short-answer questions from every anchor (both splits), keep those that pass the check, save them."""
    from agora.experiments.knowledge import FactQARecord, build_dataset
    from agora.sim.scenario import Scenarios

    tasks = Scenarios.load(scenarios).tasks if task == ["all"] else task
    record = FactQARecord(tasks=tasks, writers=writer, seed=seed, max_answer_words=max_answer_words,
                          llm_questions=llm_questions, scenarios=str(scenarios) if scenarios else None)
    st = open_store(store)
    run_id, questions, rejections = build_dataset(record, st, _say)
    sizes = questions.groupby(["task", "split"]).size().unstack(fill_value=0)
    console.print(sizes.to_string())
    console.print(rejections.to_string(index=False))
    console.print(f"fact-question dataset [bold]{run_id}[/]: {len(questions)} questions, {st.root / run_id}",
                  soft_wrap=True, highlight=False)


@group.command("eval")
@friendly
def eval_cmd(
    dataset: str = typer.Option(..., help="run id of a dataset from `agora factqa build`"),
    policy: list[str] = typer.Option(["smollm2"], help="a policy spec, repeatable; the first is the base the others "
                                                       "are compared with (smollm2, hf:CHECKPOINT, openai:MODEL)"),
    variant: list[str] = typer.Option(["closed_book", "in_context"], help="closed_book: the question and the name "
                                      "only (what the model knows); in_context: the anchor, then the question (what it reads)"),
    split: str = typer.Option("test", help="the anchors' split the questions come from: test | train"),
    task: list[str] = typer.Option([], help="only these tasks of the dataset (default: all of them)"),
    seed: int = typer.Option(0),
    max_new_tokens: int = typer.Option(32, min=1),
    store: Optional[Path] = StoreOpt,
):
    """Ask each policy every question; accuracy per policy with Wilson CIs, and base -> tuned with a bootstrap CI."""
    from agora.experiments.knowledge import KnowledgeRecord, evaluate

    record = KnowledgeRecord(dataset=dataset, policies=policy, variants=variant, split=split, tasks=task, seed=seed,
                             max_new_tokens=max_new_tokens)
    st = open_store(store)
    run_id, table, diffs = evaluate(record, st, _say)
    console.print(table.to_string(index=False))
    if not diffs.empty:
        console.print(diffs.to_string(index=False))
    console.print(f"knowledge eval [bold]{run_id}[/]: {st.root / run_id}", soft_wrap=True, highlight=False)
