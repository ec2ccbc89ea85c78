"""The base layer's commands: bootstrap, run, runs, show, cache, serve, judge, audience check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from agora.cli.common import RESUME, ScenariosOpt, StoreOpt, console, friendly, open_store, progress_bar
from agora.sim.errors import AgoraError
from agora.sim.store import atomic_parquet


def register(app: typer.Typer) -> None:
    app.command()(bootstrap)
    app.command()(run)
    app.command()(runs)
    app.command()(show)
    app.command()(serve)
    app.command("judge")(judge_cmd)
    app.add_typer(cache_group, name="cache")
    app.add_typer(audience_group, name="audience")


@friendly
def bootstrap(
    scenarios: Optional[Path] = ScenariosOpt,
    control: bool = typer.Option(False, "--control", help="also build the slot-grammar control model (policy `tiny`)"),
    judge: bool = typer.Option(False, "--judge", help="also build the control's tiny judge (audience `llm:tiny`)"),
    steps: Optional[int] = typer.Option(None, help="control training steps (default: TinyConfig.steps)"),
    force: bool = typer.Option(False, help="rebuild the control even if cached"),
):
    """Convert the embedded default (SmolLM2) now, and optionally build the synthetic control; all cached."""
    import shutil

    from agora.sim.backends.embedded import MODEL_MANIFEST, ensure_packaged
    from agora.sim.scenario import Scenarios
    from agora.sim.tiny.control import MANIFEST, TinyConfig, tiny_path
    from agora.training.controls import ensure_tiny

    path = ensure_packaged("smollm2")
    info = json.loads((path / MODEL_MANIFEST).read_text())
    console.print(f"embedded default {info['name']} ({info['source_package']}, {info['parameters']:,} parameters, "
                  f"GGUF sha256 {info['gguf_sha256'][:12]}) at {path}", soft_wrap=True, highlight=False)
    if not (control or judge):
        return
    sc = Scenarios.load(scenarios)
    config = TinyConfig(**({"steps": steps} if steps else {}))
    path = tiny_path(sc, config)
    if force and path.exists():
        shutil.rmtree(path)
    console.print(f"{'cached' if (path / MANIFEST).is_file() else 'building'} slot-grammar control at {path}")
    ensure_tiny(sc, config)
    info = json.loads((path / MANIFEST).read_text())
    console.print(f"control: {info['parameters']:,} parameters, loss {info['train_loss']}, {info['train_seconds']} s")
    if judge:
        from agora.training.tiny_judge import ensure_judge

        console.print(f"control judge at {ensure_judge(sc, config)}")


@friendly(next_step=RESUME)
def run(
    task: str = typer.Option("sales", help="sales | election | social"),
    contests: int = typer.Option(20, min=1, help="number of contests"),
    seed: int = typer.Option(0, help="all randomness flows from this"),
    policy: str = typer.Option("smollm2", help="smollm2 (embedded) | hf:PATH|FILE.gguf | vllm:PATH | openai:MODEL[@URL] | tiny (control)"),
    opponent: Optional[str] = typer.Option(None, help="a second policy (default: two samples of --policy)"),
    audience: str = typer.Option("parametric", help="parametric | llm:SPEC, any policy spec (llm:openai:gpt-4o-mini)"),
    audience_orders: str = typer.Option("one", help="one (a seeded order, the study) | both (each persona sees both orders; a choice that follows the slot abstains)"),
    audience_vote: str = typer.Option("text", help="text (think, then vote in tags) | logprob (P(A), P(B) at the first token; hf:, openai:)"),
    prompt_format: str = typer.Option("auto", help="chat policies: auto (the model's recorded format) | study | plain"),
    split: str = typer.Option("train", help="anchors: train | test | all"),
    horizon: int = typer.Option(1, min=1, help="messages per competitor: a campaign of H rounds, one vote after the last"),
    invalid: str = typer.Option("forfeit", help="a contest with an invalid candidate: forfeit (to the valid one) | void | judge (the reference protocol; counted)"),
    capability: list[str] = typer.Option([], "--capability", help="capabilities to give the competitors"),
    capability_for: str = typer.Option("both", help="who gets --capability: both | A | B (B vs a memoryless A)"),
    max_calls: Optional[int] = typer.Option(None, min=1, help="stop cleanly before more LLM calls than this"),
    max_tokens: Optional[int] = typer.Option(None, min=1, help="stop cleanly before more generated tokens than this"),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="serve repeated LLM calls from the shared cache"),
    config: Optional[Path] = typer.Option(None, "--config", help="re-run from a saved config.yaml"),
    resume: Optional[str] = typer.Option(None, "--resume", help="finish an interrupted run by id"),
    store: Optional[Path] = StoreOpt,
    scenarios: Optional[Path] = ScenariosOpt,
):
    """Run contests: competitors write, 20 personas judge, everything lands in the run store."""
    from pydantic import ValidationError

    from agora.sim.config import RunConfig
    from agora.sim.runner import resume_run, start_run

    st = open_store(store)
    if resume:
        contest_run(lambda tick: resume_run(resume, st, tick))
        return
    if config:
        cfg = RunConfig.load(config)
        cfg.resolved = {}
    else:
        try:
            cfg = RunConfig(
                task=task, contests=contests, seed=seed, policy=policy, opponent=opponent, audience=audience,
                audience_orders=audience_orders, audience_vote=audience_vote,
                split=split, invalid=invalid, horizon=horizon, capabilities=capability if capability_for == "both" else {capability_for: capability}, scenarios=str(scenarios) if scenarios else None,
                max_calls=max_calls, max_tokens=max_tokens, cache=cache, prompt_format=prompt_format,
            )
        except ValidationError as err:
            e = err.errors()[0]
            if not e["loc"]:  # a rule between options (horizon with capabilities, ...): its message names them
                raise AgoraError(e["msg"].removeprefix("Value error, ")) from None
            raise AgoraError(f"--{e['loc'][0]}: {e['msg']} (got {e['input']!r})") from None
    contest_run(lambda tick: start_run(cfg, st, tick))


def contest_run(go) -> None:
    """Contests with a progress bar, then how they ended: `go(tick)` starts or resumes the run (`agora run`, and
    `agora rerun` of a contest run)."""
    with progress_bar("contests") as bar:
        bar_id = bar.add_task("contests", total=None)
        result = go(lambda done, total: bar.update(bar_id, completed=done, total=total))
    if not result.finished():
        console.print(f"run [bold]{result.run_id}[/] stopped at its budget after {len(result.done_contests())} contests; "
                      "its contests are saved", highlight=False)
        raise typer.Exit(1)
    _print_summary(result)
    console.print(f"run [bold]{result.run_id}[/] finished: {result.path}", soft_wrap=True, highlight=False)


@friendly
def runs(store: Optional[Path] = StoreOpt):
    """List the runs in the store."""
    df = open_store(store).list()
    if df.empty:
        console.print("no runs yet — start one with `agora run`")
        return
    table = Table()
    for col in ("run", "kind", "task", "policy", "audience", "seed", "contests", "status", "secs", "abstain", "A wins"):
        table.add_column(col, no_wrap=col in {"run", "status", "contests"})
    for r in df.itertuples():  # every kind of entry (contest, train, sweep, audit, ...): absent fields stay blank
        m = r.metrics if isinstance(r.metrics, dict) else {}
        shares = m.get("win_share") if isinstance(m.get("win_share"), dict) else {}
        table.add_row(
            r.run_id, _text(r.kind), _text(r.task), _text(r.policy) + (f" vs {r.opponent}" if _text(r.opponent) else ""),
            _text(r.audience), _text(r.seed), f"{_text(r.contests_done)}/{_text(r.contests_planned)}", _text(r.status),
            f"{r.seconds:.1f}" if _text(r.seconds) else "", _text(m.get("abstentions")), _text(shares.get("A")),
        )
    console.print(table)


def _text(value) -> str:
    """A table cell: blank for None/NaN, integers without a trailing .0."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@friendly
def show(run_id: str = typer.Argument(..., help="run id (see `agora runs`)"), store: Optional[Path] = StoreOpt, examples: int = 2):
    """Summary of one run: win shares, abstentions, example messages."""
    _print_summary(open_store(store).open(run_id), examples)


def _print_summary(run, examples: int = 2) -> None:
    from agora.sim.campaign import final_round
    from agora.sim.metrics import summarise
    from agora.sim.scenario import Scenarios

    cfg = run.config
    sc = Scenarios.load(cfg.scenarios)
    anchors = {a.id: a for a in sc.anchors(cfg.task, "all")}
    # a campaign's votes are its last round's; its messages are all rounds'
    messages, judgments, contests = run.table("messages"), final_round(run.table("judgments")), run.table("contests")
    m = summarise(sc.task(cfg.task), messages, judgments, contests, anchors)
    if not m["contests"]:
        console.print(f"run {run.run_id}: no finished contests yet")
        return
    table = Table(title=f"run {run.run_id} — {cfg.task}, {m['contests']} contests, seed {cfg.seed}", show_header=False)
    for name, spec in cfg.competitor_specs():
        table.add_row(f"competitor {name}", spec)
    table.add_row("audience", cfg.audience)
    if cfg.horizon > 1:
        table.add_row("campaign", f"{cfg.horizon} messages each, one vote after the last")
    table.add_row("win share", ", ".join(f"{k} {v:.0%}" for k, v in m["win_share"].items()) + f" (ties {m['ties']}" + (f", void {m['outcomes']['void']}" if m["outcomes"].get("void") else "") + ")")
    table.add_row("vote share", ", ".join(f"{k} {v:.1%}" for k, v in m["vote_share"].items()))
    if "engagement_share" in m:
        table.add_row("engagement share", ", ".join(f"{k} {v:.1%}" for k, v in m["engagement_share"].items()))
        table.add_row("cascade likes", f"mean {m['cascade_mean']}, max {m['cascade_max']}")
    table.add_row("abstentions", f"{m['abstentions']} of {m['judgments']} ({m['abstention_rate']:.1%}), retried {m['retried']}")
    if m["invalid_messages"]:
        outcomes = ", ".join(f"{k} {v}" for k, v in m["outcomes"].items())
        table.add_row("invalid candidates", ", ".join(f"{k} {v}" for k, v in m["invalid_messages"].items()) + f" (contests: {outcomes};"
                      f" rule {cfg.invalid})")
    table.add_row("messages naming their anchor", f"{m['names_anchor']:.0%}")
    table.add_row("… and using a true fact", f"{m['names_and_true_fact']:.0%}")
    console.print(table)
    for warning in m.get("audience_warnings", []):  # a run from before these checks has none
        console.print(f"[bold yellow]audience warning:[/] {escape(warning)}; measure it: agora audience check "
                      f"--audience {cfg.audience}", highlight=False, soft_wrap=True)
    for contest in contests.head(examples).itertuples():
        votes = ", ".join(f"{n} {v}" for n, v in zip(contest.competitors, contest.votes))
        console.print(f"[bold]contest {contest.contest}[/] — {contest.anchor_id}: winner {contest.winner or 'tie'} ({votes})")
        for msg in messages[messages["contest"] == contest.contest].itertuples():
            turn = f" (round {msg.round})" if cfg.horizon > 1 else ""
            console.print(f"  [cyan]{msg.competitor}{turn}[/]: {escape(msg.text)}", highlight=False)
        mine = judgments[judgments["contest"] == contest.contest]
        if mine.empty:  # an invalid candidate: the audience never saw this contest
            console.print(f"  [dim]{getattr(contest, 'outcome', 'not judged')}: no ballots[/]", highlight=False)
            continue
        j = mine.iloc[0]
        seen = f"saw {j.shown_a} as A, voted {j.vote or 'nothing'}"
        console.print(f"  [dim]{j.persona_id} ({seen} → {j.choice or 'abstained'}): {escape(j.thought)}[/]", highlight=False)


cache_group = typer.Typer(help="The shared LLM call cache.", no_args_is_help=True)


@cache_group.command("stats")
@friendly
def cache_stats():
    """Entries, hits and size per model identity."""
    from agora.sim.backends.cached import CallCache

    cache = CallCache()
    table = cache.stats()
    console.print(f"cache {cache.path} ({cache.path.stat().st_size / 1e6:.1f} MB)", soft_wrap=True, highlight=False)
    console.print(table.to_string(index=False) if len(table) else "empty", highlight=False)


@cache_group.command("prune")
@friendly
def cache_prune(
    older_than_days: Optional[float] = typer.Option(None, help="drop entries unused for this many days"),
    identity: Optional[str] = typer.Option(None, help="drop the entries of one model identity"),
    everything: bool = typer.Option(False, "--all", help="drop every entry"),
):
    """Drop cache entries: by age, by model, or all."""
    from agora.sim.backends.cached import CallCache

    if older_than_days is None and identity is None and not everything:
        raise AgoraError("say what to prune: --older-than-days N, --identity NAME or --all")
    removed = CallCache().prune(older_than_days=older_than_days, identity=identity)
    console.print(f"removed {removed} entries")


@friendly
def serve(
    gguf: Optional[Path] = typer.Argument(None, help="a .gguf model file (default: the embedded SmolLM2-135M-Instruct)"),
    port: int = typer.Option(8080, min=0, max=65535, help="port on 127.0.0.1 (0: any free port)"),
    parallel: int = typer.Option(8, min=1, help="requests decoded at once, in one batch (llama.cpp slots)"),
    ctx_size: int = typer.Option(2048, min=64, help="context tokens per slot"),
    threads: Optional[int] = typer.Option(None, min=1, help="CPU threads (default: all cores but one)"),
    api_key: Optional[str] = typer.Option(None, help="require this key from clients (default: none)"),
):
    """Serve a GGUF model on 127.0.0.1 with llama.cpp, as an OpenAI-compatible server for openai:MODEL@URL."""
    import signal

    from agora.sim.serve import LocalServer

    def stop(signum, frame):  # Ctrl-C and SIGTERM stop the server and its child, even where the shell that started
        raise KeyboardInterrupt  # us ignores SIGINT (a background job inherits SIG_IGN, and Python then keeps it)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    server = LocalServer(gguf, port=port, parallel=parallel, ctx_size=ctx_size, threads=threads, api_key=api_key)
    with server:
        try:  # from the moment it serves: a Ctrl-C while the spec is still being printed stops it just as cleanly
            console.print(f"serving {server.gguf.name} at {server.url}: {parallel} parallel slots × {ctx_size} tokens, "
                          f"{server.threads} CPU thread{'s' if server.threads > 1 else ''}", soft_wrap=True, highlight=False)
            console.print(f"spec: [bold]{server.spec}[/]", soft_wrap=True, highlight=False)
            plain = " --prompt-format plain" if gguf is None else ""  # SmolLM2 ignores the study's tags (README)
            for example in (f"agora run --policy {server.spec}{plain} --contests 6",
                            f"agora run --audience llm:{server.spec}", f"curl {server.url}/models"):
                console.print(f"  {example}", soft_wrap=True, highlight=False)
            if api_key:
                console.print("clients send the key: export OPENAI_API_KEY=<the key>", highlight=False)
            console.print(f"llama.cpp log: {server.log}; Ctrl-C stops the server", soft_wrap=True, highlight=False)
            code = server.wait()
        except KeyboardInterrupt:
            console.print("server stopped")
            return
        raise AgoraError(f"the server exited on its own (code {code}): {server.failure()} (log: {server.log})")


@friendly
def judge_cmd(
    file: Path = typer.Argument(..., help="JSONL rows: task, anchor_id or anchor_text, and messages a and b (or a list messages)"),
    audience: str = typer.Option("parametric", help="parametric (a rule-based control) | llm:SPEC, any model spec"),
    seed: int = typer.Option(0, help="the order each persona sees each pair in, and the audience's sampling"),
    batch: int = typer.Option(8, min=1, help="pairs judged per batch (one generate call for an LLM audience)"),
    invalid: str = typer.Option("skip", help="a pair with an invalid message (empty, a copy, off its anchor): skip | judge"),
    out: Optional[Path] = typer.Option(None, help="also write the judgments here as Parquet"),
    store: Optional[Path] = StoreOpt,
):
    """Judge messages written anywhere: each persona sees each pair, in a seeded order, thinks and votes."""
    from agora.sim.audience.judge_file import JudgingRecord, judging, reasons, summary
    from agora.sim.records import file_sha256

    if invalid not in ("skip", "judge"):
        raise AgoraError(f"--invalid: {invalid!r}; use skip or judge")
    record = JudgingRecord(file=str(file.resolve()), sha256=file_sha256(file), audience=audience, seed=seed,
                           invalid=invalid, batch=batch)
    with progress_bar("pairs") as bar:
        pairs = bar.add_task("pairs", total=None)
        done = judging(record, open_store(store), lambda m: console.print(escape(m), style="yellow", highlight=False,
                                                                          soft_wrap=True),
                       lambda n, total: bar.update(pairs, completed=n, total=total))
    table = Table(title=f"vote shares ({done.identity}; 95% Wilson intervals over the ballots that gave a vote)")
    for col in ("line", "id", "message", "share [95% CI]", "votes", "ballots", "abstained"):
        table.add_column(col, justify="left" if col in ("id", "message") else "right")
    texts = {r.line: r.messages for r in done.rows}
    found = summary(done.judgments)
    for r in found.itertuples():
        text = texts[r.line][r.message].replace("\n", " ")
        share = f"{r.share:.0%} [{r.ci_low:.0%}, {r.ci_high:.0%}]" if r.votes == r.votes and r.ballots > r.abstained else "no vote"
        table.add_row(str(r.line), escape(r.id), escape(f"{r.message}: {text[:48]}{'…' if len(text) > 48 else ''}"), share,
                      str(r.votes), str(r.ballots), str(r.abstained))
    console.print(table)
    for r in found.itertuples():
        for thought in reasons(done.judgments, r.line, r.message):
            console.print(f"  line {r.line}, message {r.message}: [italic]{escape(thought[:160])}[/]", highlight=False, soft_wrap=True)
    if audience == "parametric":
        console.print("votes from the parametric audience, a rule-based control: they say nothing about how language "
                      "models or people read these messages", highlight=False)
    if out:
        atomic_parquet(done.judgments, out)
    console.print(f"judging [bold]{done.run_id}[/]: {done.path}", soft_wrap=True, highlight=False)


audience_group = typer.Typer(help="Measure an audience before trusting it.", no_args_is_help=True)


@audience_group.command("check")
@friendly
def audience_check(
    audience: str = typer.Option("parametric", help="parametric (a rule-based control) | llm:SPEC, any model spec"),
    orders: str = typer.Option("one", help="the audience setting under test: one | both (debiased: see agora run --audience-orders)"),
    vote: str = typer.Option("text", help="the audience setting under test: text | logprob"),
    pairs: Optional[Path] = typer.Option(None, help="your own calibration pairs (JSONL: task, anchor_id or anchor_text, a that should win, b)"),
    reference: Optional[str] = typer.Option(None, help="a reference audience spec: Cohen's kappa with it on the same ballots"),
    personas: Optional[int] = typer.Option(None, min=2, help="the first N personas only (default: all 20)"),
    anchors: Optional[int] = typer.Option(None, min=1, help="the first N calibration anchors per task (default: all 6)"),
    repeats: int = typer.Option(2, min=2, help="times each persona judges each contested pair (each way round)"),
    manipulation: bool = typer.Option(True, "--manipulation/--no-manipulation", help="run the manipulation battery"),
    seed: int = typer.Option(0),
    batch: int = typer.Option(8, min=1, help="pairs per batch (one generate call for an LLM audience)"),
    out: Optional[Path] = typer.Option(None, help="also write the JSON report here"),
    store: Optional[Path] = StoreOpt,
):
    """Parse rate, order consistency, persona and content sensitivity, agreement, manipulation: a verdict."""
    import json

    from agora.sim.audience import check as c
    from agora.sim.records import file_sha256
    from agora.sim.scenario import Scenarios

    if orders not in ("one", "both"):
        raise AgoraError(f"--orders: {orders!r}; use one or both")
    record = c.CheckRecord(audience=audience, orders=orders, vote=vote, personas=personas or len(Scenarios.load().personas),
                           anchors_per_task=anchors, repeats=repeats, seed=seed,
                           pairs_file=str(pairs.resolve()) if pairs else None,
                           pairs_sha256=file_sha256(pairs) if pairs else None, reference=reference,
                           manipulation=manipulation, batch=batch)
    with progress_bar("pairs") as bar:
        task_id = bar.add_task("pairs", total=None)
        run_id, path, rep = c.check(record, open_store(store),
                                    lambda m: console.print(escape(m), style="yellow", highlight=False, soft_wrap=True),
                                    lambda done, total: bar.update(task_id, completed=done, total=total))
    if out:
        out.write_text(json.dumps(rep.as_dict(), indent=2))
    console.print(check_table(rep))
    for reason in rep.reasons:
        console.print(f"  [yellow]{escape(reason)}[/]", highlight=False, soft_wrap=True)
    if audience == "parametric":
        console.print("the parametric audience is a rule-based control: its figures say how the control behaves, "
                      "nothing about language models", highlight=False)
    console.print(f"audience check [bold]{run_id}[/]: {path}", soft_wrap=True, highlight=False)


def check_table(rep) -> Table:
    def pct(v):
        return "n/a" if v is None else f"{v:.0%}"

    table = Table(title=f"audience check: {rep.identity} -> [bold]{rep.verdict}[/]")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("what it says")
    table.add_row("parse_rate", pct(rep.parse_rate), f"of {rep.ballots} ballots gave a vote")
    table.add_row("order_consistency", pct(rep.order_consistency),
                  f"twin ballots choosing the same message both ways round (first slot got {pct(rep.first_slot_share)} of votes)")
    table.add_row("content_sensitivity", pct(rep.content_sensitivity),
                  "sound message wins: " + ", ".join(f"{k} {pct(v)}" for k, v in rep.by_kind.items()))
    ps = rep.persona_sensitivity
    table.add_row("persona_sensitivity", "n/a" if ps["eta_squared"] is None else f"{ps['eta_squared']:.2f}",
                  f"vote variance explained by the persona on {ps['pairs']} contested pairs (permutation p {ps['p_value']})")
    if rep.agreement:
        a = rep.agreement
        table.add_row("agreement", "n/a" if a["kappa"] is None else f"{a['kappa']:.2f}",
                      f"Cohen's kappa with the reference on {a['ballots']} ballots, 95% CI [{a['ci_low']}, {a['ci_high']}]")
    if rep.manipulation:
        table.add_row("manipulation", pct(rep.manipulation.get("all")),
                      "manipulated message wins against itself: " + ", ".join(f"{k} {pct(v)}" for k, v in rep.manipulation.items() if k != "all"))
    return table
