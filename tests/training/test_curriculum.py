"""The horizon curriculum: RFT on campaign wins at h, a held-out measure, and h lengthened at the threshold or after
the steps allowed at it; on the slot-grammar control (mechanics, not behaviour)."""

import shutil

import pandas as pd
import pytest
from datasets import load_from_disk

from agora.sim.errors import AgoraError
from agora.training.config import TrainConfig
from agora.training.curriculum import campaign_wins, parse_horizons, run_curriculum


def config(tiny_path, small_tiny, **kw):
    return TrainConfig(**{"method": "rft", "task": "sales", "policy": f"hf:{tiny_path}", "contests": 4, "seed": 1,
                          "epochs": 1, "batch_size": 8, "tiny": small_tiny, **kw})


def test_each_horizon_trains_on_every_round_of_the_won_campaigns_then_lengthens(store, tiny_path, small_tiny,
                                                                               every_candidate_valid):
    result = run_curriculum(config(tiny_path, small_tiny, contests=3), store, [1, 2], threshold=0.0, max_rounds_per_h=3,
                            eval_contests=1)
    stages = pd.read_parquet(result.path / "stages.parquet")
    assert stages["horizon"].tolist() == [1, 2] and stages["met_threshold"].all()  # threshold 0: one step each
    index = store.list().set_index("run_id")
    second = stages.iloc[1]
    assert index.loc[second.rollout_run, "policy"] == f"hf:{result.path / 'step-1' / 'checkpoint'}"  # h = 2 starts trained
    data = load_from_disk(str(result.path / "step-2" / "dataset"))
    assert second.examples == 2 * second.winners == len(data) and sorted(set(data["round"])) == [1, 2]
    assert (stages["optimiser_steps"] >= 1).all() and (stages["rollout_tokens"] > 0).all()
    measured = store.open(second.eval_run).config
    assert (measured.horizon, measured.split, measured.opponent) == (2, "test", f"hf:{result.checkpoint}")
    assert index.loc[result.run_id, "kind"] == "curriculum" and index.loc[result.run_id, "status"] == "finished"


def copy_policy(base, rows, cfg, out, lineage):
    """A fine-tune's stand-in where the training itself is another test's: the policy, copied."""
    shutil.copytree(base, out)
    return {"steps": 1, "loss": 0.0, "seconds": 0.0}


def test_a_threshold_never_met_spends_every_step_at_the_horizon(store, tiny_path, small_tiny, every_candidate_valid,
                                                                monkeypatch):
    monkeypatch.setattr("agora.training.curriculum.fine_tune", copy_policy)
    result = run_curriculum(config(tiny_path, small_tiny, contests=2), store, [2], threshold=1.0, max_rounds_per_h=2,
                            eval_contests=1)
    assert result.stages["horizon"].tolist() == [2, 2] and not result.stages["met_threshold"].any()


def test_campaign_wins_skip_ties_and_invalid_campaigns():
    messages = pd.DataFrame({"contest": [0] * 4 + [1] * 4 + [2] * 4, "round": [1, 1, 2, 2] * 3,
                             "competitor": ["A", "B"] * 6, "prompt": [f"p{i}" for i in range(12)],
                             "raw": [f"m{i}" for i in range(12)], "invalid": [""] * 9 + ["empty", "", ""]})
    contests = pd.DataFrame({"contest": [0, 1, 2], "anchor_id": ["x"] * 3, "winner": ["B", "", "A"],
                             "competitors": [["A", "B"]] * 3, "votes": [[8, 12], [10, 10], [15, 5]]})
    rows, ties, invalid = campaign_wins(messages, contests, "r")
    assert (ties, invalid) == (1, 1)
    assert [(r["round"], r["prompt"], r["completion"]) for r in rows] == [(1, "p1", " m1"), (2, "p3", " m3")]


def test_horizons_parse_from_a_range_or_a_list():
    assert parse_horizons("1..3") == [1, 2, 3] and parse_horizons("1,3") == [1, 3] and parse_horizons("3") == [3]
    for bad in ("3..1", "a..b", "0..2", "2,2"):
        with pytest.raises(AgoraError, match="--horizons"):
            parse_horizons(bad)


def test_the_command_says_what_is_wrong_with_the_horizons_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from agora.cli.main import app

    result = CliRunner().invoke(app, ["curriculum", "--horizons", "3..1", "--store", str(tmp_path)])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [
        "error: --horizons: '3..1' must be increasing horizons of at least 1, e.g. 1..3"]


def test_train_with_a_curriculum_runs_what_the_curriculum_command_runs(tmp_path, tiny_path, monkeypatch):
    """The two fronts hand the one curriculum the same settings (the run itself: the tests above, and `agora rerun`
    of a `train --curriculum` entry in tests/experiments/test_records.py)."""
    from typer.testing import CliRunner

    from agora.cli.main import app
    from agora.training.curriculum import CurriculumResult

    calls = []

    def recorded(config, store, horizons, threshold, max_rounds_per_h, say, **kw):
        calls.append((config.to_dict(), horizons, threshold, max_rounds_per_h, kw))
        stages = pd.DataFrame([{"step": 1, "horizon": 1, "winners": 0, "examples": 0, "rollout_tokens": 0,
                                "optimiser_steps": 0, "eval_share": 0.5, "met_threshold": True, "checkpoint": "c"}])
        return CurriculumResult(f"run-{len(calls)}", tmp_path, stages)

    monkeypatch.setattr("agora.training.curriculum.run_curriculum", recorded)
    common = ["--policy", f"hf:{tiny_path}", "--contests", "2", "--eval-contests", "3", "--max-rounds-per-h", "1",
              "--threshold", "0.6", "--epochs", "1", "--batch-size", "8", "--seed", "3", "--max-new-tokens", "48",
              "--invalid", "judge", "--store", str(tmp_path)]
    for command in (["train", "--curriculum", "1..3"], ["curriculum", "--horizons", "1..3"]):
        result = CliRunner().invoke(app, command + common)
        assert result.exit_code == 0 and f"curriculum run-{len(calls)} finished; policy: hf:c" in result.output, result.output
    train, curriculum = calls
    assert train == curriculum
    assert curriculum[1:] == ([1, 2, 3], 0.6, 1, {"eval_contests": 3, "max_new_tokens": 48})
    assert (curriculum[0]["seed"], curriculum[0]["contests"], curriculum[0]["invalid"]) == (3, 2, "judge")


def test_train_says_which_options_need_a_curriculum(tmp_path):
    from typer.testing import CliRunner

    from agora.cli.main import app

    for command, line in ((["--threshold", "0.6", "--eval-contests", "2"],
                           "error: --threshold, --eval-contests: curriculum settings; set --curriculum 1..H or leave them alone"),
                          (["--curriculum", "2..1"], "error: --curriculum: '2..1' must be increasing horizons of at least 1, e.g. 1..3"),
                          (["--curriculum", "1..2", "--rounds", "2"], "error: --rounds: a curriculum takes up to "
                           "--max-rounds-per-h steps at each horizon; leave --rounds at 1")):
        result = CliRunner().invoke(app, ["train", *command, "--store", str(tmp_path)])
        assert result.exit_code == 2 and result.output.strip().splitlines() == [line], result.output


def test_a_later_rounds_prompt_names_the_earlier_messages_in_the_plural(scenarios):
    """What the curriculum trains each later round's message on (sales: "pitches", not "pitchs")."""
    from agora.sim.campaign import campaign_prompt

    prompts = {t: campaign_prompt("Write.", scenarios.task(t), ["one", "two"], 3) for t in ("sales", "election", "social")}
    assert prompts["sales"].startswith("Write.\n\nYour earlier sales pitches, which") and "next sales pitch about" in prompts["sales"]
    assert "Your earlier campaign speeches," in prompts["election"] and "Your earlier posts," in prompts["social"]
    assert "Message 2: two" in prompts["sales"] and "(3 of 3)" in prompts["sales"]
