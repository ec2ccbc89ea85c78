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
    app.add_typer(inoculation_group, name="inoculation")


@friendly
def train(
    method: str = typer.Option("rft", help="rft (winners) | tfb (winners + audience thoughts)"),
    task: str = typer.Option("sales", help="sales | election | social"),
    policy: str = typer.Option("smollm2", help="base policy with local weights: smollm2 | hf:PATH|FILE.gguf | tiny (control)"),
    rounds: int = typer.Option(1, min=1, help="generate -> judge -> train cycles"),
    contests: int = typer.Option(192, min=1, help="contests per round on the train anchors"),
    audience: str = typer.Option("parametric", help="the audience whose votes are optimised"),
    seed: int = typer.Option(0),
    thought_share: float = typer.Option(0.5, help="TFB: share of thought examples"),
    epochs: Optional[int] = typer.Option(None, help="default: 3 (tiny, full tune) or 1 (LoRA, the study)"),
    learning_rate: Optional[float] = typer.Option(None, help="default: 5e-4 (tiny) or 2e-4 (LoRA)"),
    lora: Optional[bool] = typer.Option(None, "--lora/--full-tune", help="default: LoRA for a pretrained model, full tune for tiny"),
    batch_contests: int = typer.Option(1, min=1, help="contests written and judged per batch"),
    inoculation: Optional[str] = typer.Option(None, help="inoculation prompt: a name from scenarios/prompts.yaml or text"),
    placement: str = typer.Option("user", help="where the inoculation goes in a chat prompt: user | system"),
    invalid: str = typer.Option("forfeit", help="a contest with an invalid candidate: forfeit | void | judge (counted either way)"),
    store: Optional[Path] = StoreOpt,
):
    """Fine-tune a policy on the contests it wins (RFT) and on what the audience thinks (TFB), optionally inoculated."""
    from agora.training.config import TrainConfig
    from agora.training.trainer import AudienceTrainer

    config = TrainConfig(method=method, task=task, policy=policy, rounds=rounds, contests=contests, audience=audience,
                         seed=seed, thought_share=thought_share, epochs=epochs, learning_rate=learning_rate,
                         inoculation=inoculation, placement=placement, lora=lora, batch_contests=batch_contests,
                         invalid=invalid)
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
    prompt: Optional[str] = typer.Option(None, help="an instruction for B at test time, e.g. safety (PTST) or neutral"),
    batch_contests: int = typer.Option(1, min=1, help="contests written and judged per batch"),
    invalid: str = typer.Option("forfeit", help="a contest with an invalid candidate: forfeit | void | judge (counted either way)"),
    store: Optional[Path] = StoreOpt,
):
    """Head-to-head on held-out anchors: B's vote share and excess win rate with a bootstrap 95% CI."""
    from agora.training.evaluate import head_to_head

    run, rate = head_to_head(a, b, task, _store(store), contests=contests, seed=seed, split=anchors, audience=audience,
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
    from agora.training.study import replicate, save, summary

    st = _store(store)
    table = replicate(tasks.split(","), list(range(first_seed, first_seed + seeds)), methods.split(","), st, contests=contests,
                      eval_contests=eval_contests, policy=policy, batch_contests=batch_contests,
                      say=lambda m: console.print(m, highlight=False))
    run_id = save(table, st)
    console.print(summary(table).to_string(index=False))
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
    from agora.training.inoculation import compare, save, summarise

    st = _store(store)
    table = compare(task, list(range(seeds)), inoculation, st, contests=contests, eval_contests=eval_contests,
                    say=lambda m: console.print(m, highlight=False))
    summary = summarise(table)
    run_id = save("compare", table, st, {"task": task, "inoculation": inoculation, "seeds": seeds}, summary=summary)
    console.print(summary.to_string(index=False))
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
    from agora.sim.scenario import Scenarios
    from agora.training.inoculation import rank, read_candidates, save

    st = _store(store)
    cands = read_candidates(candidates, task, Scenarios.load())
    table, corr = rank(task, cands, st, category=category, train=train, seed=seed, contests=contests,
                       eval_contests=eval_contests, say=lambda m: console.print(m, highlight=False))
    run_id = save("rank", table, st, {"task": task, "seed": seed, "train": train, "candidates": cands}, extra=corr)
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
    from agora.training import code_hacking

    _general("code", code_hacking, store, seed=seed, inoculation=inoculation, hack_examples=hack_examples,
             eval_tasks=eval_tasks, epochs=epochs, learning_rate=learning_rate)


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
    from agora.training import gcd_sycophancy

    _general("gcd", gcd_sycophancy, store, seed=seed, inoculation=inoculation, train_examples=train_examples,
             eval_problems=eval_problems, epochs=epochs, learning_rate=learning_rate)


def _general(name: str, setting, store: Optional[Path], *, seed: int, inoculation: Optional[str], **sizes) -> None:
    """Run one general setting's experiment into a store entry of kind "inoculation" and print its table."""
    from agora.sim.store import atomic_parquet

    st = _store(store)
    run_id, path = st.create_entry("inoculation", {"experiment": name, "seed": seed, **sizes}, seed=seed)
    table = setting.experiment(path, seed=seed, inoculation=inoculation or setting.INOCULATION, **sizes)
    atomic_parquet(table, path / "table.parquet")
    st.update(run_id, status="finished", metrics=json.dumps({"experiment": name}))
    console.print(table.to_string(index=False))
    console.print(f"{name} inoculation check [bold]{run_id}[/]: {path}", soft_wrap=True, highlight=False)
