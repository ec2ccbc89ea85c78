"""`agora bench models` counts on a random-weight chat model: keys, shares in [0, 1], tokens as the tokenizer counts."""

from rich.console import Console

from agora.sim.backends.base import Sampling
from agora.bench.models import message_scores, models_bench, timed_generation
from agora.sim.policy import load_policy

SAMPLING = Sampling(temperature=0.7, max_new_tokens=8, seed=1)


def test_models_bench_returns_every_measure_as_a_share(chat_checkpoint):
    out = models_bench(Console(width=160, record=True), 3, "sales", models={"random": f"hf:{chat_checkpoint}"},
                       tasks=("sales", "social"), sampling=SAMPLING)
    batching = out["batching"]
    assert batching["prompts"] == 3 and batching["batched_tokens"] == batching["single_tokens"] > 0
    assert batching["identical_completions"] == 3  # each prompt draws from its own seed, batched or alone
    cells = out["policies"]["random"]
    assert set(cells) == {"plain", "study"} and set(cells["study"]["by_task"]) == {"sales", "social"}
    for cell in [c for f in cells.values() for c in [f, *f["by_task"].values()]]:
        assert all(0 <= cell[k] <= 1 for k in ("names_anchor", "invented_number", "parse_ok"))
        assert cell["tokens"] > 0 and cell["mean_words"] >= 0  # (random bytes re-tokenise longer: no upper bound)
    assert cells["study"]["messages"] == 6


def test_generated_tokens_are_what_the_tokenizer_counts(chat_checkpoint, scenarios):
    policy = load_policy(f"hf:{chat_checkpoint}", scenarios=scenarios, prompt_format="study")
    task, anchors = scenarios.task("sales"), scenarios.anchors("sales", "test")[:3]
    gen = timed_generation(policy, [policy.prompt(task, a) for a in anchors], SAMPLING, [5, 6, 7])
    tok = policy.backend.tokenizer
    assert gen.tokens == sum(len(tok.encode(t, add_special_tokens=False)) for t in gen.texts) > 0
    # a message in its tag parses, names its anchor and invents a number; a bare one does neither
    title = anchors[0].title
    scores = message_scores(policy, task, anchors[:2], [f"<pitch>{title}: now 987654 units</pitch>", "buy"])
    assert (scores["parse_ok"], scores["names_anchor"], scores["invented_number"]) == (0.5, 0.5, 0.5)


def test_agora_bench_models_runs_the_models_section_alone(monkeypatch):
    from typer.testing import CliRunner

    from agora.bench import models as bench_models
    from agora.cli.main import app

    calls = []
    monkeypatch.setattr(bench_models, "models_bench", lambda console, contests, task, **kw: calls.append((contests, task)))
    result = CliRunner().invoke(app, ["bench", "models", "--contests", "2", "--task", "social"])
    assert result.exit_code == 0, result.output
    assert calls == [(2, "social")] and "machine:" in result.output
