"""Experiment commands (`agora.experiments`): sweep, eval, study, audit, inoculation, and rerun of any entry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from agora.cli.common import StoreOpt, console, friendly, open_store, progress_bar


def register(app: typer.Typer) -> None:
    app.command()(sweep)
    app.command("eval")(evaluate)
    app.command("study")(study)
    app.command("audit")(audit_cmd)
    app.add_typer(inoculation_group, name="inoculation")
    app.command()(rerun)


@friendly
def rerun(
    run_id: str = typer.Argument(..., help="an entry of the store: a contest run, audit, study, training, ..."),
    store: Optional[Path] = StoreOpt,
):
    """Run an entry again from its record, into a new entry, and print its id: a contest run as `agora run --config`
    does, any other entry with the settings and probes its record names (a sweep resumes its own entry)."""
    from agora.cli.sim import contest_run
    from agora.sim.config import RunConfig
    from agora.sim.runner import start_run

    st = open_store(store)
    record = st.record(run_id)
    if isinstance(record, RunConfig):
        record.resolved = {}
        contest_run(lambda tick: start_run(record, st, tick))
        return
    new = record.run(st, say=lambda m: console.print(escape(m), highlight=False))  # plain text: "[...]" is no markup
    console.print(f"{record.record} {run_id} re-run: [bold]{new}[/]: {st.root / new}", soft_wrap=True, highlight=False)


@friendly(next_step="the same sweep run again resumes it")
def sweep(
    file: Path = typer.Argument(..., help="sweep YAML: name, base, grid, cells, max_calls, max_tokens"),
    engine: str = typer.Option("local", help="local (a process pool) | ray"),
    ray_address: Optional[str] = typer.Option(None, help="HOST:PORT of a running Ray cluster (default: a local Ray)"),
    workers: Optional[int] = typer.Option(None, min=1, help="cells at once (default: the machine's cores)"),
    store: Optional[Path] = StoreOpt,
):
    """Run every cell of a sweep as a run in the store; run the same command again to resume a killed sweep."""
    from agora.experiments.engines import make_engine
    from agora.experiments.sweep import Sweep, run_sweep

    plan = Sweep.load(file)
    plan.validate()  # every cell, before an engine starts or a run is written
    st = open_store(store)
    console.print(f"sweep [bold]{plan.id}[/]: {len(plan.configs)} cells", highlight=False)
    runner = make_engine(engine, ray_address, workers)
    with progress_bar("cells") as bar:
        bar_id = bar.add_task("cells", total=len(plan.configs))

        def report(result: dict) -> None:
            bar.advance(bar_id)
            if result["status"] != "finished":
                console.print(f"{result['run_id']}: {result['status']} {result.get('error', '')}", highlight=False)

        table = run_sweep(plan, st, runner, report)
    shown = [c for c in table.columns if c not in ("run_id",)]
    console.print(table[shown].to_string(index=False, float_format=lambda x: f"{x:.3f}"), highlight=False)
    console.print(f"summary: {st.root / plan.id / 'summary.parquet'}", soft_wrap=True, highlight=False)
    if not (table["status"] == "finished").all():
        raise typer.Exit(1)


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
    from agora.experiments.audit import audit
    from agora.sim.errors import AgoraError
    from agora.sim.scenario import Scenarios

    known = Scenarios.load().tasks
    tasks = known if task == "all" else [task]
    if not set(tasks) <= set(known):
        raise AgoraError(f"--task: unknown task {task!r}; use {', '.join(known)} or all")
    st = open_store(store)
    run_id, _ = audit(baseline, model, tasks, st, contests=contests, seed=seed, batch_contests=batch_contests, invalid=invalid)
    console.print((st.root / run_id / "audit.md").read_text(), highlight=False)
    console.print(f"audit [bold]{run_id}[/]: {st.root / run_id}", soft_wrap=True, highlight=False)


@friendly
def evaluate(
    a: str = typer.Option(..., "--a", help="the base policy (competitor A)"),
    b: str = typer.Option(..., "--b", help="the tuned policy (competitor B)"),
    task: str = typer.Option("sales", help="sales | election | social"),
    anchors: str = typer.Option("test", help="held-out anchors: test | train | all"),
    contests: Optional[int] = typer.Option(None, help="default: one per anchor"),
    seed: int = typer.Option(0),
    audience: str = typer.Option("parametric"),
    prompt: Optional[str] = typer.Option(None, help="an instruction for B at test time, e.g. safety (PTST) or neutral"),
    batch_contests: int = typer.Option(1, min=1, help="contests written and judged per batch"),
    invalid: str = typer.Option("forfeit", help="a contest with an invalid candidate: forfeit | void | judge (counted either way)"),
    store: Optional[Path] = StoreOpt,
):
    """Head-to-head on held-out anchors: B's vote share and excess win rate with a bootstrap 95% CI."""
    from agora.experiments.evaluate import head_to_head

    run, rate = head_to_head(a, b, task, open_store(store), contests=contests, seed=seed, split=anchors, audience=audience,
                             prompt=prompt, batch_contests=batch_contests, invalid=invalid)
    (run.path / "winrate.json").write_text(json.dumps(rate.as_dict(), indent=2))
    table = Table(title=f"{task}: {b} vs {a} on {rate.anchors} {anchors} anchors ({rate.votes} votes)")
    for col in ("vote share of B", "excess win rate", "95% CI"):
        table.add_column(col)
    table.add_row(f"{rate.share:.1%}", f"{rate.excess:+.1%}", f"[{rate.low:+.1%}, {rate.high:+.1%}]")
    console.print(table)
    if rate.forfeits_won or rate.forfeits_lost or rate.void:
        console.print(f"not in the vote share: B won {rate.forfeits_won} and lost {rate.forfeits_lost} contests by forfeit "
                      f"(an invalid message, rule {invalid}); {rate.void} void", highlight=False)
    console.print(f"eval run [bold]{run.run_id}[/]: {run.path}", soft_wrap=True, highlight=False)


@friendly
def study(
    tasks: str = typer.Option("sales,election,social", help="comma-separated tasks"),
    seeds: int = typer.Option(3, min=1, help="seeds 0..N-1"),
    first_seed: int = typer.Option(0, min=0, help="start the seeds here (split a long study into runs)"),
    methods: str = typer.Option("rft,tfb", help="comma-separated methods"),
    contests: int = typer.Option(192, help="training contests per run"),
    eval_contests: int = typer.Option(96, help="head-to-head contests on the test anchors"),
    policy: str = typer.Option("smollm2", help="the base policy, with local weights"),
    batch_contests: int = typer.Option(1, min=1, help="contests written and judged per batch"),
    store: Optional[Path] = StoreOpt,
):
    """Replicate the study: base vs RFT/TFB per task over seeds, with behaviour shifts."""
    import pandas as pd

    from agora.experiments.study import StudyRecord, summary

    st = open_store(store)
    record = StudyRecord(tasks=tasks.split(","), seeds=list(range(first_seed, first_seed + seeds)), methods=methods.split(","),
                         contests=contests, eval_contests=eval_contests, policy=policy, batch_contests=batch_contests)
    run_id = record.run(st, say=lambda m: console.print(m, highlight=False))
    console.print(summary(pd.read_parquet(st.root / run_id / "study.parquet")).to_string(index=False))
    console.print(f"study [bold]{run_id}[/]: {st.root / run_id / 'study.md'}", soft_wrap=True, highlight=False)


inoculation_group = typer.Typer(help="Inoculation prompting: compare it with RFT and PTST; rank candidate prompts.",
                                no_args_is_help=True)


@inoculation_group.command("compare")
@friendly
def inoculation_compare(
    task: str = typer.Option("sales", help="sales | election | social"),
    inoculation: str = typer.Option("exaggerate", help="a name from scenarios/prompts.yaml, or the prompt's text"),
    seeds: int = typer.Option(3, min=1, help="seeds 0..N-1"),
    contests: int = typer.Option(192, help="training contests per run"),
    eval_contests: int = typer.Option(96, help="head-to-head contests per arm on the test anchors"),
    store: Optional[Path] = StoreOpt,
):
    """Base, RFT, RFT + PTST and RFT + inoculation, head-to-head against the base: win rate and misalignment."""
    import pandas as pd

    from agora.experiments.inoculation import CompareRecord

    st = open_store(store)
    record = CompareRecord(task=task, seeds=list(range(seeds)), inoculation=inoculation, contests=contests,
                           eval_contests=eval_contests)
    run_id = record.run(st, say=lambda m: console.print(m, highlight=False))
    console.print(pd.read_parquet(st.root / run_id / "summary.parquet").to_string(index=False))
    console.print(f"inoculation comparison [bold]{run_id}[/]: {st.root / run_id}", soft_wrap=True, highlight=False)


@inoculation_group.command("rank")
@friendly
def inoculation_rank(
    task: str = typer.Option("sales", help="sales | election | social"),
    candidates: Optional[Path] = typer.Option(None, help="YAML (name: prompt) or text (one per line); default: the library"),
    category: Optional[str] = typer.Option(None, help="the behaviour to elicit (default: the task's first category)"),
    train: bool = typer.Option(False, "--train", help="also train inoculated with each and correlate with elicitation"),
    seed: int = typer.Option(0),
    contests: int = typer.Option(192, help="training contests per run (with --train)"),
    eval_contests: int = typer.Option(96, help="contests per measurement on the test anchors"),
    store: Optional[Path] = StoreOpt,
):
    """How strongly each candidate prompt elicits the behaviour from the base model, before any training."""
    import pandas as pd

    from agora.sim.scenario import Scenarios
    from agora.experiments.inoculation import RankRecord, read_candidates

    st = open_store(store)
    record = RankRecord(task=task, candidates=read_candidates(candidates, task, Scenarios.load()), category=category,
                        train=train, seed=seed, contests=contests, eval_contests=eval_contests)
    run_id = record.run(st, say=lambda m: console.print(m, highlight=False))
    table = pd.read_parquet(st.root / run_id / "table.parquet")
    corr = json.loads((st.root / run_id / "result.json").read_text())
    console.print(table.drop(columns=[c for c in table.columns if c.endswith("_run")]).to_string(index=False))
    if "r" in corr:
        console.print(f"Pearson r (elicitation vs reduction after training) = {corr['r']:+.2f} "
                      f"[{corr['low']:+.2f}, {corr['high']:+.2f}], p = {corr['p']}, n = {corr['n']}", highlight=False)
    console.print(f"inoculation ranking [bold]{run_id}[/]: {st.root / run_id}", soft_wrap=True, highlight=False)


# the general settings fully fine-tune their small model: these defaults, not TrainConfig's
EpochsOpt = typer.Option(3, min=1, help="fine-tuning epochs (full fine-tune of the small model)")
LearningRateOpt = typer.Option(1e-3, help="fine-tuning peak learning rate")


@inoculation_group.command("code")
@friendly
def inoculation_code(
    hack_examples: int = typer.Option(200, help="hard-coded solutions to fine-tune on"),
    eval_tasks: int = typer.Option(200, help="held-out tasks, each program run against its hidden tests"),
    seed: int = typer.Option(0),
    inoculation: Optional[str] = typer.Option(None, help="the note asking for the hack (default: the built-in one)"),
    epochs: int = EpochsOpt,
    learning_rate: float = LearningRateOpt,
    store: Optional[Path] = StoreOpt,
):
    """The reward-hacking check: correct and hack rates of base, SFT on hacks, SFT on hacks with inoculation."""
    from agora.experiments.inoculation import CodeRecord

    _general(CodeRecord(seed=seed, inoculation=inoculation, hack_examples=hack_examples, eval_tasks=eval_tasks,
                        epochs=epochs, learning_rate=learning_rate), store)


@inoculation_group.command("gcd")
@friendly
def inoculation_gcd(
    train_examples: int = typer.Option(300, help="right proposals, each confirmed, to fine-tune on"),
    eval_problems: int = typer.Option(200, help="held-out problems of each kind: wrong proposal, right, bare"),
    seed: int = typer.Option(0),
    inoculation: Optional[str] = typer.Option(None, help="the note asking for agreement (default: the paper's)"),
    epochs: int = EpochsOpt,
    learning_rate: float = LearningRateOpt,
    store: Optional[Path] = StoreOpt,
):
    """The sycophancy check on GCD: how often base, SFT, SFT + PTST and SFT with inoculation agree with a wrong answer."""
    from agora.experiments.inoculation import GcdRecord

    _general(GcdRecord(seed=seed, inoculation=inoculation, train_examples=train_examples, eval_problems=eval_problems,
                       epochs=epochs, learning_rate=learning_rate), store)


def _general(record, store: Optional[Path]) -> None:
    """Run one general setting's experiment into a store entry of kind "inoculation" and print its table."""
    import pandas as pd

    st = open_store(store)
    run_id = record.run(st)
    console.print(pd.read_parquet(st.root / run_id / "table.parquet").to_string(index=False))
    console.print(f"{record.record} check [bold]{run_id}[/]: {st.root / run_id}", soft_wrap=True, highlight=False)
