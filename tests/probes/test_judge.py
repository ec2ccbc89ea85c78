"""The judge probe: rubric prompts, Yes/No parsing, and failures counted rather than read as 'no'."""

import math

from agora.probes.base import Item
from agora.probes.judge import JudgeProbe, judge_prompt, parse_answer
from agora.probes.validate import validate


class Scripted:
    identity = "scripted"

    def __init__(self, replies):
        self.replies = replies

    def generate(self, prompts, sampling, seeds=None):
        self.calls = getattr(self, "calls", []) + [len(prompts)]
        return [self.replies[i % len(self.replies)] for i in range(len(prompts))]


def test_prompt_includes_source_only_for_fact_categories(scenarios):
    event = scenarios.anchors("social")[0]
    item = Item("social", "Go see it up close!", event)
    fact = judge_prompt(item, "disinformation", scenarios.task("social"))[1]["content"]
    assert event.article in fact and "not in the news article" in fact
    assert event.article not in judge_prompt(item, "unsafe_encouragement", scenarios.task("social"))[1]["content"]


def test_a_slow_judge_is_asked_in_batches_and_reports_each(scenarios):
    product = scenarios.anchors("sales")[0]
    backend, done = Scripted(["<answer>Yes</answer>", "<answer>No</answer>"]), []
    probe = JudgeProbe(backend, batch=16, progress=done.append)
    verdicts = probe.score([Item("sales", f"pitch {n}", product) for n in range(40)], "misrepresentation")
    assert backend.calls == [16, 16, 8] and done == [16, 16, 8]
    assert [v.label for v in verdicts[:4]] == [True, False, True, False] and len(verdicts) == 40


def test_parse_answer():
    assert parse_answer("<think>the 40 is invented</think><answer>Yes</answer>") == (True, "ok")
    assert parse_answer("<answer> no </answer>") == (False, "ok")
    assert parse_answer("I'm sorry, I can't help with that.") == (None, "refused")
    assert parse_answer("<answer>Yes</answer><answer>No</answer>") == (None, "unparseable")
    assert parse_answer("Probably fine.") == (None, "unparseable")
    # small served models drop the tags: a reply that opens with Yes/No, or names its answer, still answers
    assert parse_answer("Yes, the pitch invents a warranty.") == (True, "ok")
    assert parse_answer("<think>all numbers are there</think>\nNo.") == (False, "ok")
    assert parse_answer("The answer is no") == (False, "ok")
    assert parse_answer("No idea, sorry") == (None, "unparseable")


def test_failures_are_counted_not_negative(scenarios):
    product = scenarios.anchors("sales")[0]
    items = [Item("sales", "x", product)] * 4
    verdicts = JudgeProbe(Scripted(["<answer>Yes</answer>", "no idea", "I am unable to do that", "<answer>No</answer>"])).score(
        items, "misrepresentation")
    assert [(v.label, v.status) for v in verdicts] == [(True, "ok"), (None, "unparseable"), (None, "refused"), (False, "ok")]
    assert math.isnan(verdicts[1].score)


def test_judge_probe_runs_on_a_real_local_chat_model(chat_checkpoint, scenarios):
    """The real path: chat template, batched generate, parse. A random model's replies are counted failures."""
    from agora.probes.gold import load_gold
    from agora.sim.backends.base import Sampling
    from agora.sim.backends.hf import HFBackend

    probe = JudgeProbe(HFBackend(chat_checkpoint), Sampling(temperature=0.0, max_new_tokens=6))
    rows = [r for r in load_gold(split="test") if r.task == "election"][:4]
    df = validate([probe], rows, scenarios)
    assert set(df["category"]) == {"disinformation", "populism", "audience_manipulation"} and (df["n"] == 4).all()
    assert (df["unparseable"] + df["refused"] <= df["n"]).all()


def test_judge_through_the_openai_backend_is_validated_on_the_real_output_gold(openai_stub, tmp_path, monkeypatch):
    """`agora probes validate --judge openai:MODEL@URL`: each rubric question goes to the server as a chat request;
    the judge's answers are scored against the real-output gold and its unreadable replies are counted."""
    import pandas as pd
    from typer.testing import CliRunner

    from agora.probes.gold import REAL_GOLD, load_gold
    from agora.cli.main import app

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    seen = []

    def judge(request):  # says Yes to every fact question, cannot answer the others
        prompt = request["messages"][-1]["content"]
        seen.append(request["model"])
        fact = "not in the" in prompt or "contradict" in prompt
        return 200, openai_stub.completion("<think>checking</think><answer>Yes</answer>" if fact else "Hmm, hard to say.")

    with openai_stub.serve(judge) as url:
        result = CliRunner().invoke(app, ["probes", "validate", "--judge", f"openai:judge-model@{url}", "--gold",
                                          "real-output", "--judge-tokens", "16", "--store", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    table = pd.concat(pd.read_parquet(p) for p in (tmp_path / "runs").glob("*/validation.parquet"))
    judged = table[table["probe"] == "judge"].set_index(["task", "category"])
    test = load_gold(REAL_GOLD, split="test")
    sales = judged.loc[("sales", "misrepresentation")]
    assert set(table["gold"]) == {"real-output"} and sales["n"] == sum(r.task == "sales" for r in test)
    assert sales["recall"] == 1.0 and sales["unparseable"] == 0  # "Yes" to everything: every positive caught
    populism = judged.loc[("election", "populism")]
    assert populism["unparseable"] == populism["n"] and populism["tp"] + populism["fp"] == 0  # failures are not "no"
    assert set(seen) == {"judge-model"} and len(seen) == judged["n"].sum()
