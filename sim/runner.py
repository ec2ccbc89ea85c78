"""Start, execute and resume contest runs: config -> ContestModel -> run store."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import networkx as nx

from agora.sim.audience.base import Audience
from agora.sim.audience.debias import BothOrders
from agora.sim.audience.llm import LLMAudience
from agora.sim.backends.base import Backend
from agora.sim.backends.cached import CachedBackend, CallCache
from agora.sim.budget import Budget, BudgetExceeded, MeteredBackend
from agora.sim.campaign import final_round
from agora.sim.backends.embedded import model_manifest
from agora.sim.backends.spec import load_backend, parse_spec
from agora.sim.config import RunConfig
from agora.sim.errors import AgoraError, BackendUnavailable
from agora.sim.metrics import summarise
from agora.sim.model import ContestModel
from agora.sim.policy import Policy, load_policy
from agora.sim.registry import capabilities as capability_registry
from agora.sim.scenario import Scenarios
from agora.sim.store import Run, RunStore
from agora.sim.tiny.control import TinyConfig

Progress = Callable[[int, int], None]  # (contests done, contests planned)


def check_audience_spec(spec: str, field: str = "--audience") -> None:
    """`parametric`, or `llm:` followed by any backend spec (parsed and checked by the backend registry)."""
    if spec == "parametric":
        return
    if not spec.startswith("llm:"):
        raise AgoraError(f"{field}: unknown audience {spec!r}; use parametric or llm:SPEC (llm:smollm2, llm:hf:PATH, "
                         "llm:openai:MODEL@URL, ...)")
    parse_spec(spec.removeprefix("llm:"), field)


def load_audience(spec: str, scenarios: Scenarios, tiny: TinyConfig, vote: str = "text") -> Audience:
    from agora.sim.audience.parametric import ParametricAudience

    check_audience_spec(spec)
    if spec == "parametric":
        if vote != "text":
            raise AgoraError("audience vote: logprob needs an LLM audience (llm:SPEC); the parametric audience has no logits")
        return ParametricAudience(scenarios.root / "audience" / "parametric.yaml")
    return LLMAudience(load_backend(spec.removeprefix("llm:"), scenarios=scenarios, tiny=tiny, role="voter", field="--audience"),
                       vote=vote)


def calls_through(config: RunConfig, budget: Budget, backend: Backend) -> Backend:
    """Every LLM call of a run goes through its budget and, unless disabled, the shared call cache (outermost:
    a hit costs nothing)."""
    metered = MeteredBackend(backend, budget)
    return CachedBackend(metered, CallCache()) if config.cache else metered


def make_capability(name: str, config: RunConfig, backend: Backend):
    """factory(backend=, seed=, **settings): a capability thinks or reflects with its competitor's own model,
    seeded by the run, with the settings the config names for it."""
    settings = config.capability_settings.get(name, {})
    try:
        return capability_registry.get(name)(backend=backend, seed=config.seed, **settings)
    except TypeError as err:
        raise AgoraError(f"capability_settings.{name}: {err}; see the {name} capability's config for its settings") from None


def build_model(config: RunConfig, scenarios: Scenarios, budget: Budget | None = None) -> ContestModel:
    budget = budget or Budget(config.max_calls, config.max_tokens)
    task = scenarios.task(config.task)
    anchors = scenarios.anchors(config.task, config.split)
    personas = scenarios.personas
    policies: dict[str, Policy] = {}  # competitors with the same spec share one loaded model
    competitors = []
    for name, spec in config.competitor_specs():
        if spec not in policies:
            policies[spec] = load_policy(spec, scenarios=scenarios, tiny=config.tiny_config, prompt_format=config.prompt_format)
            policies[spec].backend = calls_through(config, budget, policies[spec].backend)
        caps = [make_capability(c, config, policies[spec].backend) for c in config.capabilities_of(name)]
        competitors.append((name, spec, policies[spec], caps, scenarios.instruction(config.task, config.instructions.get(name))))
    audience = load_audience(config.audience, scenarios, config.tiny_config, config.audience_vote)
    if isinstance(audience, LLMAudience):
        audience.backend = calls_through(config, budget, audience.backend)
    if config.audience_orders == "both":
        audience = BothOrders(audience)
    return ContestModel(
        task, anchors, personas, competitors, audience, config.sampling.at(config.seed),
        network=config.network, seed=config.seed, placement=config.placement, invalid=config.invalid,
        horizon=config.horizon,
    )


def validate_config(config: RunConfig) -> Scenarios:
    """Fail before anything is written: unknown task, bad policy spec, broken scenario files."""
    # a bad spec or a missing model fails here, not after other runs have started
    parse_spec(config.policy, "--policy")
    check_audience_spec(config.audience)
    if config.opponent:
        parse_spec(config.opponent, "--opponent")
    for name in config.all_capabilities():
        capability_registry.get(name)
    if unused := sorted(set(config.capability_settings) - set(config.all_capabilities())):
        raise AgoraError(f"capability_settings: {', '.join(unused)} not among the run's capabilities "
                         f"({', '.join(config.all_capabilities()) or 'none'})")
    scenarios = Scenarios.load(config.scenarios)
    try:
        scenarios.task(config.task)
    except AgoraError as err:
        raise AgoraError(f"task: {err}") from None
    scenarios.anchors(config.task, config.split)
    _ = scenarios.personas
    return scenarios


def start_run(config: RunConfig, store: RunStore, progress: Progress | None = None, run_id: str | None = None) -> Run:
    scenarios = validate_config(config)
    budget = Budget(config.max_calls, config.max_tokens)
    model = build_model(config, scenarios, budget)  # loads models before the run folder exists: no half-made runs
    run = store.create(config, run_id)
    return execute(run, model, scenarios, budget, progress)


def resume_run(run_id: str, store: RunStore, progress: Progress | None = None) -> Run:
    """Continue from the last finished contest; the budget continues from what the run has spent (a contest cut
    short included), and capabilities from the state committed with that contest."""
    run = store.open(run_id)
    if run.finished():
        raise AgoraError(f"run {run_id} is already finished; nothing to resume")
    scenarios = validate_config(run.config)
    budget = Budget(run.config.max_calls, run.config.max_tokens, **run.usage())
    model = build_model(run.config, scenarios, budget)
    if run.config.all_capabilities() and (states := run.capability_states()):
        for w in model.writers:
            for cap in w.capabilities:
                cap.restore(states[w.name][cap.name])
    return execute(run, model, scenarios, budget, progress)


def capability_states(model: ContestModel) -> dict:
    """{competitor: {capability: state}}: committed with each contest and saved as capabilities.json at the end."""
    return {w.name: {c.name: c.state() for c in w.capabilities} for w in model.writers}


def execute(run: Run, model: ContestModel, scenarios: Scenarios, budget: Budget, progress: Progress | None = None) -> Run:
    config = run.config
    config.resolved = {
        "policies": {w.name: w.policy.backend.identity for w in model.writers},
        # where pretrained weights came from (name, package, GGUF sha256), for those Agora converted
        "models": {w.name: info for w in model.writers if (info := model_manifest(getattr(w.policy.backend, "path", None)))},
        "audience": model.audience.identity,
        "audience_path": str(getattr(getattr(model.audience, "backend", None), "path", "")),
        "personas": [v.persona.id for v in model.voters],
    }
    run.save_config(config)
    # what was spent beyond the committed contests went on one cut short: the call cache hands it back to the replay,
    # else it is lost and spent again
    committed = run.committed_usage()
    lost = {k: 0 if config.cache else getattr(budget, k) - committed.get(k, 0) for k in ("calls", "tokens")}
    budget.on_spend = run.save_usage
    if model.network:  # the persona graph, so that a cascade can be drawn as it ran
        ids = {v.node: v.persona.id for v in model.voters}
        (run.path / "network.json").write_text(json.dumps(nx.node_link_data(nx.relabel_nodes(model.graph, ids), edges="edges")))
    run.start()
    started = time.perf_counter()
    done = set(run.done_contests())
    ran = 0
    try:
        todo = [c for c in range(config.contests) if c not in done]
        for start in range(0, len(todo), config.batch_contests):
            for record in model.play(todo[start : start + config.batch_contests]):
                contest = int(record.contest["contest"].iat[0])
                # with capabilities a batch is one contest, so their state now is the state after this one
                states = capability_states(model) if config.all_capabilities() else None
                # a batch's calls are committed with its first contest: they are made before any is recorded
                usage = {k: getattr(budget, k) - lost[k] for k in lost}
                run.write_contest(contest, record.tables(), usage=usage, capabilities=states)
                done.add(contest)
                ran += 1
                if progress:
                    progress(len(done), config.contests)
    except BudgetExceeded as stop:
        run.mark("budget", time.perf_counter() - started, note=str(stop))
        return run
    except KeyboardInterrupt:
        run.mark("interrupted", time.perf_counter() - started)
        raise
    except BackendUnavailable as err:
        run.mark("interrupted", time.perf_counter() - started, note=str(err))
        raise BackendUnavailable(f"{err} — run {run.run_id} is marked interrupted with {len(done)} of {config.contests} "
                                 f"contests saved; finish it with: agora run --resume {run.run_id}") from None
    except Exception:
        run.mark("failed", time.perf_counter() - started)
        raise
    if config.all_capabilities():
        (run.path / "capabilities.json").write_text(json.dumps(capability_states(model), indent=2, default=str))
    anchors = {a.id: a for a in scenarios.anchors(config.task, "all")}
    # every round's messages; the votes that count (a campaign's earlier rounds are provisional leans)
    metrics = summarise(scenarios.task(config.task), run.table("messages"), final_round(run.table("judgments")),
                        run.table("contests"), anchors)
    seconds = time.perf_counter() - started
    metrics["contests_per_second"] = round(ran / seconds, 3) if ran and seconds else None
    metrics["resumed_from"] = config.contests - ran if ran < config.contests else 0
    # calls that reached a model (cache hits excluded) for the contests in the tables, as an uninterrupted run counts
    # them; `_lost`: those spent, without a call cache, on contests a kill or Ctrl-C cut short. Spent: the sum.
    metrics["llm_calls"] = budget.calls - lost["calls"]
    metrics["llm_calls_lost"] = lost["calls"]
    metrics["llm_tokens"] = budget.tokens - lost["tokens"]
    metrics["llm_tokens_lost"] = lost["tokens"]
    run.finish(metrics, seconds)
    return run
