"""The fault harness, small: a kill (and, marked slow, a full disk) against `agora run`, each followed by what a user
runs next; the full disk the harness makes; and the one line a full disk gets."""

import errno
import subprocess

import pandas as pd
import pytest

from agora.bench.faults import CASES, SMALL_CONTROL, can_mount, disk_used, intact, lost, on_full_disk, results, run_faults


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


def test_a_full_disk_fills_at_its_size_and_leaves_what_was_written_in_the_folder(tmp_path):
    if not can_mount(tmp_path / "probe"):
        pytest.skip("mounting needs root and mount namespaces")
    folder = tmp_path / "store"
    folder.mkdir()
    write = 'echo kept > "$0/small" && head -c 20000 /dev/zero > "$0/big"'
    done = subprocess.run([*on_full_disk(folder, 8192), "sh", "-c", write, str(folder)], capture_output=True, text=True)
    assert done.returncode != 0 and "No space left on device" in done.stderr
    assert (folder / "small").read_text() == "kept\n" and (folder / "big").stat().st_size == 4096  # a page each
    assert disk_used(folder) == 8192 and sorted(p.name for p in tmp_path.iterdir()) == ["probe", "store"]
    assert str(folder) not in open("/proc/self/mounts").read()  # the tmpfs was this command's alone


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


@pytest.mark.parametrize("raised, said", [
    (RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)"),  # safetensors'
     "error: cannot write: Error while serializing: I/O error: No space left on device (os error 28)"),
    (OSError(errno.ENOSPC, "Error writing bytes to file. Detail: No space left on device"),  # Arrow's, named
     "error: cannot write runs-full/x.parquet: Error writing bytes to file."),
])
def test_a_full_disk_met_by_a_library_is_one_line(monkeypatch, tmp_path, raised, said):
    """Libraries word a full disk their own way: safetensors raises no OSError, Arrow names no file."""
    monkeypatch.chdir(tmp_path)
    from typer.testing import CliRunner

    from agora.cli.main import app
    from agora.sim import runner
    from agora.sim.store import atomic_parquet

    def full(*args, **kwargs):
        if isinstance(raised, OSError):
            monkeypatch.setattr(pd.DataFrame, "to_parquet", lambda *a, **k: (_ for _ in ()).throw(raised))
            atomic_parquet(pd.DataFrame({"a": [1]}), tmp_path / "runs-full" / "x.parquet")
        raise raised

    (tmp_path / "runs-full").mkdir()
    monkeypatch.setattr(runner, "start_run", full)
    result = CliRunner().invoke(app, ["run", "--policy", "tiny", "--contests", "1", "--store", "runs-full"])
    assert result.exit_code == 3 and "Traceback" not in result.output, result.output
    assert result.output.strip().splitlines()[-1].startswith(said.replace("runs-full", str(tmp_path / "runs-full")))
    assert not list((tmp_path / "runs-full").glob(".*.tmp"))  # the half-written part is freed


@pytest.mark.parametrize("argv, step", [
    (["run", "--policy", "tiny", "--contests", "1"], "(resume it with `agora run --resume RUN_ID`)"),
    (["probes", "validate"], "(run the same command again)"),  # no --resume to point at
])
def test_the_line_a_full_disk_gets_says_what_to_run_next(monkeypatch, tmp_path, argv, step):
    from typer.testing import CliRunner

    from agora.cli.main import app
    from agora.probes.validate import ValidationRecord
    from agora.sim import runner

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.parquet"))

    monkeypatch.setattr(runner, "start_run", full)
    monkeypatch.setattr(ValidationRecord, "run", full)
    result = CliRunner().invoke(app, [*argv, "--store", str(tmp_path / "runs")])
    assert result.exit_code == 3, result.output
    assert " ".join(result.output.split()).endswith(f"No space left on device; what was finished is saved {step}")
