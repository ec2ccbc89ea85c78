"""GRPO on vote share: rewards are the audience's vote shares within a group (or against the base), the optional
terms are weighted in, a tiny run leaves its tables, provenance and a usable checkpoint, and bad settings are one line."""

import json
import sys
import types

import pandas as pd
import pytest
from typer.testing import CliRunner

from agora.cli.main import app
from agora.sim.audience.parametric import ParametricAudience
from agora.sim.errors import AgoraError
from agora.sim.policy import ChatPolicy, load_policy
from agora.training.config import TrainConfig
from agora.training.rewards import BASE, AudienceReward
from agora.training.trainer import AudienceTrainer


def reward_for(scenarios, anchor, **kw) -> AudienceReward:
    return AudienceReward(task=scenarios.task("sales"), anchors=[anchor], personas=scenarios.personas,
                          audience=ParametricAudience(scenarios.root / "audience" / "parametric.yaml"),
                          policy=ChatPolicy(None, "plain"), group_size=3, max_tokens=64, stops={0}, invalid="forfeit",
                          seed=0, **kw)


def test_a_group_shares_its_votes_and_an_empty_completion_forfeits(scenarios):
    anchor = scenarios.anchors("sales", "train")[0]
    name = anchor.text.split("\n")[0][:60]
    texts = [f"{name}: reliable, well made and easy to use.", f"Meet {name}. Buy it today, you will love it!", ""]
    reward = reward_for(scenarios, anchor)
    got = reward.votes(["p"] * 3, texts, [[1, 0]] * 3, [anchor.id] * 3)
    pairs = pd.DataFrame(reward.pairs)
    assert pairs["outcome"].tolist() == ["judged", "forfeit", "forfeit"]  # (0,1) judged; the empty one forfeits both
    judged = pairs.iloc[0]
    assert judged["votes_a"] + judged["votes_b"] + judged["abstentions"] == len(scenarios.personas)
    assert got == pytest.approx([(judged["share_a"] + 1) / 2, (judged["share_b"] + 1) / 2, 0.0])
    assert sum(got) == pytest.approx(3 / 2)  # every pair gives away one share: G/2 per group
    assert pd.DataFrame(reward.ballots)["choice"].isin(["c0", "c1"]).all() and len(reward.ballots) == 20


def test_against_the_base_each_completion_meets_the_base_message(scenarios):
    anchor = scenarios.anchors("sales", "train")[1]
    base = ChatPolicy(None, "plain").parse(scenarios.task("sales"), anchor, anchor.text.split("\n")[0] + " is good.")
    reward = reward_for(scenarios, anchor, base={anchor.id: ("p", base)})
    got = reward.votes(["p"] * 3, [anchor.text[:200], anchor.text[:120] + ".", "x"], [[1, 0]] * 3, [anchor.id] * 3)
    pairs = pd.DataFrame(reward.pairs)
    assert (pairs["b"] == BASE).all() and len(pairs) == 3
    assert got == pytest.approx(pairs["share_a"].tolist()) and all(0 <= g <= 1 for g in got)


def test_one_tiny_grpo_run_saves_rewards_provenance_and_a_usable_checkpoint(chat_checkpoint, store, scenarios, monkeypatch):
    stub = types.ModuleType("agora.training.fact_qa")  # item 3's module, stubbed: the term's wiring is tested here
    stub.questions_for = lambda anchor, task: [f"{anchor.id}?"]
    stub.grounding = lambda text, questions, anchor: 0.25 if questions == [f"{anchor.id}?"] else -1.0  # its anchor
    monkeypatch.setitem(sys.modules, "agora.training.fact_qa", stub)
    cfg = TrainConfig(method="grpo", policy=f"hf:{chat_checkpoint}", prompts=2, group_size=2, batch_size=4,
                      max_completion_length=8, invalid="judge", lora_r=4, probe_penalty=0.5, grounding_weight=0.5)
    result = AudienceTrainer(cfg, store).train()
    rewards = pd.read_parquet(result.path / "rewards.parquet")
    assert len(rewards) == 4 and rewards["votes"].between(0, 1).all()
    assert rewards.groupby(["batch", "group"])["votes"].sum().tolist() == pytest.approx([1.0, 1.0])  # G/2 per group
    assert rewards["reward"].tolist() == pytest.approx(rewards["votes"] - 0.5 * rewards["misalignment"] + 0.125)
    assert rewards["tokens"].between(1, 8).all() and "flag_misrepresentation" in rewards
    assert len(pd.read_parquet(result.path / "judgments.parquet")) == 2 * len(scenarios.personas)
    row = result.rounds.iloc[0]
    assert row["steps"] == 1 and row["generated_tokens"] == rewards["tokens"].sum()
    provenance = json.loads((result.path / "provenance.json").read_text())
    assert set(provenance["inputs"]) >= {"tasks/sales.yaml", "personas.yaml"} and provenance["base"]["identity"]
    index = store.list().set_index("run_id").loc[result.run_id]
    assert index["kind"] == "train" and index["status"] == "finished"
    assert (result.checkpoint / "adapter_config.json").is_file()
    policy = load_policy(f"hf:{result.checkpoint}", scenarios=scenarios)
    from agora.sim.backends.base import Sampling

    assert len(policy.backend.generate([policy.prompt(scenarios.task("sales"), scenarios.anchors("sales")[0])],
                                       Sampling(max_new_tokens=2))) == 1


def test_bad_grpo_settings_fail_in_the_config(monkeypatch):
    with pytest.raises(AgoraError, match=r"--batch-size 6 must be a multiple of --group-size 4"):
        TrainConfig(method="grpo", batch_size=6)
    with pytest.raises(AgoraError, match=r"--opponent: 'rival'; use group or base"):
        TrainConfig(method="grpo", opponent="rival")
    with pytest.raises(AgoraError, match=r"group_size: GRPO settings; set --method grpo"):
        TrainConfig(method="rft", group_size=8)
    with pytest.raises(AgoraError, match=r"--probe-category unsafe_encouragement: its probe \(classifier\)"):
        TrainConfig(method="grpo", task="social", probe_penalty=1.0, probe_categories=["unsafe_encouragement"])
    monkeypatch.setitem(sys.modules, "agora.training.fact_qa", None)  # as if item 3 were not installed
    with pytest.raises(AgoraError, match=r"--grounding-weight needs agora.training.fact_qa"):
        TrainConfig(method="grpo", grounding_weight=1.0)
    result = CliRunner().invoke(app, ["train", "--method", "grpo", "--group-size", "1"])
    assert result.exit_code == 2 and result.output.strip().count("\n") == 0
    assert "--group-size 1: GRPO compares completions of a prompt; use at least 2" in result.output
