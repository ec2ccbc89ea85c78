"""`agora reasoning trm | ahn | delethink` end to end at their smallest: each writes its tables and settings into a
store entry and prints them; a bad value is one line and exit code 2, before anything is written."""

import json
import re

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from agora.cli.main import app

runner = CliRunner()


def run_ok(tmp_path, *args):
    """Run a command against a fresh store; (printed output, the entry's folder)."""
    result = runner.invoke(app, ["reasoning", *map(str, args), "--store", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    run_id = re.search(r"reasoning (\S+): ", result.output).group(1)
    path = tmp_path / "runs" / run_id
    assert json.loads((path / "summary.json").read_text())["machine"]["torch_threads"] == 1
    return result.output, path


def test_trm_trains_every_arm_and_saves_the_curve(tmp_path):
    from agora.reasoning.trm_study import ARMS

    out, path = run_ok(tmp_path, "trm", "--batches", 1, "--batch-size", 8, "--puzzles", 8, "--held-out", 4,
                       "--eval-steps", 2, "--train-steps", 1, "--hidden", 8, "--seed", 3)
    arms = pd.read_parquet(path / "arms.parquet")
    assert list(arms["arm"]) == list(ARMS) and (arms["params"] == arms["params"].iloc[0]).all()  # equal parameters
    assert arms["acc @2"].between(0, 1).all() and (arms["opt steps"] == 1).all()
    curve = pd.read_parquet(path / "curve.parquet")
    assert list(curve["steps at inference"]) == [1, 2] and list(curve.columns[1:]) == list(ARMS)
    config = yaml.safe_load((path / "config.yaml").read_text())
    assert config["seed"] == 3 and config["batches"] == 1 and config["lr"] == 1e-3  # the rest at their defaults
    assert "T=3 n=6, 1-step gradient" in out and "8 train puzzles" in out


def test_ahn_compares_the_three_attention_modes(tmp_path):
    out, path = run_ok(tmp_path, "ahn", "--teacher-steps", 2, "--ahn-steps", 2, "--batch-size", 8, "--held-out", 16)
    table = pd.read_parquet(path / "recall.parquet")
    assert list(table["model"]) == ["window only", "window + AHN", "full attention"]
    assert table["recall acc"].between(0, 1).all()
    window, ahn, full = table["cache @128k"]
    assert window < ahn < full  # a constant-size memory beside the window, far below a full KV cache at 128k
    assert "16 held-out sequences" in out


def test_delethink_context_stays_bounded_while_the_long_run_grows(tmp_path):
    # --quick runs in one process; the options given on top of it win
    out, path = run_ok(tmp_path, "delethink", "--quick", "--lengths", "1,3", "--chunk", 8, "--head", 2, "--query", 4)
    table = pd.read_parquet(path / "lengths.parquet")
    assert list(table["thinking"]) == [8, 16]  # C + (I - 1)(C - m) with C 8, m 4
    assert table["context delethink"].nunique() == 1 and table["context long"].is_monotonic_increasing
    assert table["kv D/L"].iloc[-1] < 1
    config = yaml.safe_load((path / "config.yaml").read_text())
    assert config["lengths"] == [1, 3] and config["chunk"] == 8 and config["isolate"] is False


@pytest.mark.parametrize("args, message", [
    (("trm", "--batches", "0"), "batches must be >= 1, got 0"),
    (("ahn", "--filler", "2"), "filler must be >= window - 2 (14)"),
    (("delethink", "--lengths", "1,x"), "--lengths: expected comma-separated iteration caps"),
    (("delethink", "--chunk", "8", "--head", "5"), "head must be in [0, chunk/2 = 4]"),
])
def test_a_bad_value_is_one_line_and_writes_nothing(tmp_path, args, message):
    result = runner.invoke(app, ["reasoning", *args, "--store", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and message in result.output, result.output
    assert not (tmp_path / "runs").exists()
