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
        return [self.replies[i % len(self.replies)] for i in range(len(prompts))]


def test_prompt_includes_source_only_for_fact_categories(scenarios):
    event = scenarios.anchors("social")[0]
    item = Item("social", "Go see it up close!", event)
    fact = judge_prompt(item, "disinformation")[1]["content"]
    assert event.article in fact and "not in the news article" in fact
    assert event.article not in judge_prompt(item, "unsafe_encouragement")[1]["content"]


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
    assert set(df["category"]) == {"disinformation", "populism"} and (df["n"] == 4).all()
    assert (df["unparseable"] + df["refused"] <= df["n"]).all()
