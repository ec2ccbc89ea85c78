"""Campaigns (horizon h > 1): h messages per competitor, each round's prompt with the competitor's own earlier
messages, personas that remember what they read, and one vote at the end; resumable like any run."""

import json

import pandas as pd
import pytest

from agora.sim.audience.llm import LLMAudience
from agora.sim.audience.features import extract
from agora.sim.audience.parametric import MEMORY_DECAY, ParametricAudience
from agora.sim.backends.base import Sampling, prompt_seeds
from agora.sim.campaign import final_round
from agora.sim.config import RunConfig
from agora.sim.model import ContestModel
from agora.sim.policy import ChatPolicy
from agora.sim.runner import resume_run, start_run
from agora.sim.store import TABLES


class Numbered:
    """A chat policy's backend double: each message is a function of its seed alone, and every prompt is kept."""

    identity = "numbered"

    def __init__(self):
        self.prompts = []

    def generate(self, prompts, sampling, seeds=None):
        seeds = prompt_seeds(sampling, len(prompts), seeds)
        self.prompts += prompts
        return [f"Pitch {s % 100_003}: a great robot vacuum, 40 hours." for s in seeds]


class Leaning:
    """An LLM voter double that leans A in earlier rounds and votes B at the end; prompts are kept."""

    identity = "leaning"

    def __init__(self):
        self.prompts = []

    def generate(self, prompts, sampling, seeds=None):
        self.prompts += prompts
        return ["<think>the last one</think><vote>B</vote>" if "this is the last round" in p[1]["content"].lower()
                else "<think>so far A</think><vote>A</vote>" for p in prompts]


def campaign(scenarios, horizon, audience=None, seed=3):
    backend = Numbered()
    policy = ChatPolicy(backend, "plain")
    model = ContestModel(scenarios.task("sales"), scenarios.anchors("sales", "train"), scenarios.personas,
                         [("A", "numbered", policy, [], ""), ("B", "numbered", policy, [], "")],
                         audience or ParametricAudience(scenarios.root / "audience" / "parametric.yaml"),
                         Sampling(), seed=seed, invalid="judge", horizon=horizon)
    return model, backend


def test_each_round_sees_only_its_writers_earlier_messages_and_round_one_is_the_single_contest(scenarios):
    [single] = campaign(scenarios, 1)[0].play([0])
    [record] = campaign(scenarios, 3)[0].play([0])
    m = record.messages
    assert "round" not in single.messages and "round" not in single.judgments  # h = 1: today's columns
    assert m["round"].tolist() == [1, 1, 2, 2, 3, 3] and m["competitor"].tolist() == ["A", "B"] * 3
    # round 1 is the single contest's message, prompt and all
    pd.testing.assert_frame_equal(m[m["round"] == 1].drop(columns="round").reset_index(drop=True), single.messages)
    for row in m[m["round"] == 3].itertuples():
        prompt = json.loads(row.prompt)[-1]["content"]
        mine = m[(m["competitor"] == row.competitor) & (m["round"] < 3)]["text"]
        theirs = m[(m["competitor"] != row.competitor) & (m["round"] < 3)]["text"]
        assert all(f"Message {r}: {t}" in prompt for r, t in enumerate(mine, 1))
        assert not any(t in prompt for t in theirs) and "(3 of 3)" in prompt
    assert m["text"].nunique() == 6  # each round sampled from its own seed


def test_only_the_last_round_votes_and_the_contest_counts_that_vote(scenarios):
    [record] = campaign(scenarios, 3)[0].play([0])
    j, c = record.judgments, record.contest
    assert len(j) == 3 * 20 and j.groupby("round")["persona_id"].nunique().tolist() == [20, 20, 20]
    early, last = j[j["round"] < 3], final_round(j)
    assert (early["vote"] == "").all() and (early["choice"] == "").all() and early["lean"].isin(["A", "B"]).all()
    assert (last["lean"] == last["choice"]).all() and (last["round"] == 3).all()
    # each persona sees one order for the whole campaign
    assert (j.groupby("persona_id")["shown_a"].nunique() == 1).all()
    assert dict(zip(c["competitors"].iat[0], c["votes"].iat[0])) == last["choice"].value_counts().to_dict()


def test_the_llm_persona_reads_its_earlier_rounds_and_only_its_last_answer_counts(scenarios):
    voter = Leaning()
    [record] = campaign(scenarios, 2, LLMAudience(voter))[0].play([0])
    assert len(voter.prompts) == 2 * 20  # one ballot per persona per round
    m, j = record.messages, record.judgments
    last = voter.prompts[20][1]["content"]  # the first persona's final-round ballot
    persona = j[(j["round"] == 2)].iloc[0]
    first_a = m[(m["round"] == 1) & (m["competitor"] == persona.shown_a)]["text"].iat[0]
    first_b = m[(m["round"] == 1) & (m["competitor"] == persona.shown_b)]["text"].iat[0]
    assert f"# Round 1, which you read earlier\n## A\n{first_a}\n\n## B\n{first_b}" in last
    assert "What you thought then: so far A" in last and "# Choices, round 2 of 2" in last
    assert "lean towards" in voter.prompts[0][1]["content"]
    assert (j[j["round"] == 1]["lean"] == j[j["round"] == 1]["shown_a"]).all()  # leaned A, counted nothing
    votes = dict(zip(record.contest["competitors"].iat[0], record.contest["votes"].iat[0]))
    assert sum(votes.values()) == 20 and (final_round(j)["choice"] == final_round(j)["shown_b"]).all()


def test_the_parametric_persona_weighs_earlier_messages_by_the_stated_decay(scenarios):
    audience = ParametricAudience(scenarios.root / "audience" / "parametric.yaml")
    task, anchor, persona = scenarios.task("sales"), scenarios.anchors("sales", "train")[0], scenarios.personas[0]
    old, new = f"{anchor.name} has {anchor.features[0]}. Specs matter.", "Buy it now!!! Best ever, amazing!"
    utility = {t: audience.utilities(task, anchor, persona, t) for t in (old, new)}
    got = audience.remembered(task, anchor, persona, (old, new), {t: extract(t, anchor, audience.assumptions)[0]
                                                                  for t in (old, new)})
    w_old = MEMORY_DECAY / (1 + MEMORY_DECAY)  # weights 0.5 and 1, normalised
    assert got.keys() == utility[old].keys()
    for f, u in got.items():
        assert u == pytest.approx(w_old * utility[old][f] + (1 - w_old) * utility[new][f])


def test_a_campaign_run_saves_its_horizon_and_resumes_to_the_same_tables(store, tiny_path, small_tiny, interrupted_run):
    cfg = RunConfig(task="sales", contests=2, seed=4, policy="tiny", tiny=small_tiny, invalid="judge", horizon=2)
    run_id = interrupted_run(cfg, store, after=1)
    resumed = resume_run(run_id, store)
    whole = start_run(cfg, store)
    assert RunConfig.load(whole.path / "config.yaml").horizon == 2
    for t in TABLES:
        pd.testing.assert_frame_equal(resumed.table(t), whole.table(t))
    assert len(whole.table("messages")) == 2 * 2 * 2 and len(whole.table("judgments")) == 2 * 2 * 20
    metrics = json.loads((whole.path / "metrics.json").read_text())
    assert metrics["judgments"] == 2 * 20 and metrics["abstentions"] == 0  # the votes that count, not the leans


def test_settings_a_campaign_cannot_use_yet_fail_in_the_config():
    with pytest.raises(ValueError, match="audience_orders: one"):
        RunConfig(task="sales", horizon=2, audience_orders="both")
    with pytest.raises(ValueError, match="set horizon: 1 or remove the capabilities"):
        RunConfig(task="sales", horizon=2, capabilities=["ace"])


def test_agora_run_takes_a_horizon_and_names_a_clash_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from agora.cli.main import app

    result = CliRunner().invoke(app, ["run", "--horizon", "2", "--audience-orders", "both", "--store", str(tmp_path)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "horizon > 1 cannot be used with audience_orders: both" in result.output
