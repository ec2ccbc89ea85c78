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


def test_a_threshold_never_met_spends_every_step_at_the_horizon(store, tiny_path, small_tiny, every_candidate_valid,
                                                                monkeypatch):
    def copy(base, rows, cfg, out, lineage):  # the training itself is the test above's
        shutil.copytree(base, out)
        return {"steps": 1, "loss": 0.0, "seconds": 0.0}

    monkeypatch.setattr("agora.training.curriculum.fine_tune", copy)
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
