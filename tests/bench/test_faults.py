"""The fault harness, small: a kill (and, marked slow, a full disk) against `agora run`, each followed by what a user
runs next; and the one line a full disk gets."""

import errno

import pandas as pd
import pytest

from agora.bench.faults import CASES, SMALL_CONTROL, intact, lost, results, run_faults


def test_a_killed_run_resumes_equal_to_an_uninterrupted_one(tmp_path):
    rows = run_faults(tmp_path / "faults", trials=1, seed=1, commands=["run"], faults=["kill"])
    assert rows[0]["struck"] and rows[0]["passed"] and rows[0]["rows_lost"] == 0, rows[0]
    assert rows[0]["left_running"] == 0 and rows[0]["kill_cpu_s"] > 0
    assert rows[0]["rows"] > 20  # the uninterrupted run's rows, all found again


@pytest.mark.slow
def test_a_killed_and_a_disk_starved_run_end_equal_to_an_uninterrupted_one(tmp_path):
    rows = run_faults(tmp_path / "faults", trials=2, seed=1, commands=["run"], faults=["kill", "disk"])
    assert [(r["command"], r["fault"]) for r in rows] == [("run", "kill"), ("run", "disk")]
    for row in rows:
        assert row["index_intact"] and row["again_ok"] and row["equal"] and row["rows_lost"] == 0, row
        assert row["clear"] is not False, row  # a disk fault that struck was reported in one line
    saved = pd.read_json(tmp_path / "faults" / "faults.json")
    assert len(saved) == 2 and saved["passed"].all()


def test_the_comparison_sees_a_lost_row(tmp_path, store, scenarios):
    """The comparison must see a row go, or every trial would pass."""
    from agora.sim.config import RunConfig
    from agora.sim.runner import start_run

    run = start_run(RunConfig(task="sales", contests=2, policy="tiny", invalid="judge", tiny=SMALL_CONTROL), store)
    before = results(store.root, ("contest",))
    messages = pd.read_parquet(run.path / "messages.parquet")
    messages.iloc[:-1].to_parquet(run.path / "messages.parquet", index=False)
    after = results(store.root, ("contest",))
    assert after != before and lost(before, after) == 1 and lost(before, before) == 0
    assert intact(store.root) and set(CASES) == {"run", "sweep", "validate", "audit", "train"}


def test_a_full_disk_is_one_line_naming_the_file(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    from typer.testing import CliRunner

    from agora.cli.main import app
    from agora.sim import runner

    def full(*args, **kwargs):  # what a write of a contest's parts meets on a full disk
        raise OSError(errno.ENOSPC, "No space left on device", "runs/x/parts/messages-000000.parquet")

    monkeypatch.setattr(runner, "start_run", full)
    result = CliRunner().invoke(app, ["run", "--policy", "tiny", "--contests", "1", "--store", "runs-full"])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith(
        "error: cannot write runs/x/parts/messages-000000.parquet: No space left on device")
