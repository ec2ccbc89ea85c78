"""Sweeps: the file is checked whole before anything runs; cells run on a pool or Ray with the same results;
a sweep killed with SIGKILL resumes to exactly the tables of an uninterrupted one; budgets stop cells cleanly."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from agora.experiments.engines import LocalEngine, make_engine
from agora.sim.errors import AgoraError
from agora.sim.store import TABLES, RunStore
from agora.experiments.sweep import Sweep, run_sweep


def sweep_file(tmp_path, small_tiny, name="s", **spec):
    data = {"name": name, "base": {"task": "sales", "contests": 3, "cache": False, "policy": "tiny", "tiny": small_tiny},
            "grid": {"task": ["sales", "election"], "seed": [0, 1]}, **spec}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def tables(store: RunStore, run_id: str) -> dict[str, pd.DataFrame]:
    path = store.root / run_id
    return {t: pd.read_parquet(path / f"{t}.parquet") for t in TABLES}


def test_grid_and_cells_expand_with_dotted_keys(tmp_path, small_tiny):
    path = sweep_file(tmp_path, small_tiny, cells=[{"audience": "parametric"}, {"sampling.temperature": 1.0}],
                      grid={"seed": [0, 1, 2]})
    plan = Sweep.load(path)
    assert len(plan.configs) == 6 and [c.seed for c in plan.configs] == [0, 1, 2, 0, 1, 2]
    assert [c.sampling.temperature for c in plan.configs] == [0.7] * 3 + [1.0] * 3
    assert plan.id == Sweep.load(path).id and plan.run_id(4) == f"{plan.id}-004"
    assert Sweep.load(sweep_file(tmp_path, small_tiny, grid={"seed": [0, 1]})).id != plan.id


@pytest.mark.parametrize("spec, message", [
    ({"grids": {"seed": [1]}}, r"s.yaml: grids: Extra inputs are not permitted; known keys: name, base, grid"),
    ({"grid": {"seed": []}}, r"s.yaml: grid.seed: empty list of values"),
    ({"grid": {"task": ["sales", "auction"]}}, r"s.yaml: cell 1 \(task=auction\): task: unknown task 'auction'; choose one of: sales, election, social"),
    ({"grid": {"capabilities": [["ace-typo"]]}}, r"cell 0 \(capabilities=\['ace-typo'\]\): unknown capability 'ace-typo'"),
    ({"grid": {"policy": ["hf:/no/such/model"]}}, r"cell 0 .*model path '/no/such/model' does not exist"),
])
def test_a_bad_sweep_file_is_refused_before_any_run(tmp_path, small_tiny, store, spec, message):
    with pytest.raises(AgoraError, match=message):
        plan = Sweep.load(sweep_file(tmp_path, small_tiny, **spec))
        run_sweep(plan, store, engine=None)
    assert store.list().empty


def test_a_ray_address_that_does_not_answer_is_one_clear_error():
    started = time.perf_counter()
    with pytest.raises(AgoraError, match="--ray-address 127.0.0.1:9: no Ray cluster answers there"):
        make_engine("ray", "127.0.0.1:9")
    assert time.perf_counter() - started < 10


@pytest.mark.slow  # fast representatives: the unanswered Ray address below, and every LocalEngine sweep here
def test_ray_and_the_local_pool_give_the_same_tables(tmp_path, small_tiny, tiny_path):
    plan = Sweep.load(sweep_file(tmp_path, small_tiny, grid={"task": ["sales", "social"]}))
    local, ray = RunStore(tmp_path / "local"), RunStore(tmp_path / "ray")
    summary = run_sweep(plan, local, LocalEngine(2))
    assert (summary["status"] == "finished").all() and list(summary["task"]) == ["sales", "social"]
    run_sweep(plan, ray, make_engine("ray", workers=2))
    for i in range(2):
        for name, table in tables(local, plan.run_id(i)).items():
            pd.testing.assert_frame_equal(table, tables(ray, plan.run_id(i))[name])


@pytest.mark.slow  # fast representatives: tests/memory/test_resume.py (a run killed by SIGKILL) and the rerun below
def test_a_sweep_killed_with_sigkill_resumes_to_the_uninterrupted_tables(tmp_path, small_tiny, tiny_path):
    path = sweep_file(tmp_path, small_tiny, base={"contests": 12, "cache": False, "policy": "tiny", "tiny": small_tiny})
    assert len(Sweep.load(path).configs) == 4
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    command = [sys.executable, "-c", "from agora.cli.main import app; app()", "sweep", str(path), "--workers", "2", "--store"]
    proc = subprocess.Popen([*command, str(killed)], start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and not any(killed.glob("sweep-*-*/parts/contests-000001.parquet")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, mid-contest
    proc.wait()
    plan = Sweep.load(path)
    half = [i for i in range(4) if (killed / plan.run_id(i) / "parts").is_dir()]
    assert half, "the kill should land while some cell is half done"
    done = subprocess.run([*command, str(killed)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    run_sweep(plan, RunStore(whole), LocalEngine(2))
    for i in range(4):
        resumed, reference = tables(RunStore(killed), plan.run_id(i)), tables(RunStore(whole), plan.run_id(i))
        for name in TABLES:
            pd.testing.assert_frame_equal(resumed[name], reference[name])
        assert resumed["contests"]["contest"].tolist() == list(range(12))  # nothing lost, nothing twice
    summary = pd.read_parquet(killed / plan.id / "summary.parquet")
    assert (summary["status"] == "finished").all() and summary["contests_done"].tolist() == [12] * 4


def test_a_sweep_budget_is_shared_out_and_stops_cells_cleanly(tmp_path, small_tiny, tiny_path, store):
    plan = Sweep.load(sweep_file(tmp_path, small_tiny, max_calls=10))  # 4 cells of 3 contests need 24 calls
    summary = run_sweep(plan, store, LocalEngine(1))
    assert summary["llm_calls"].fillna(0).sum() <= 10
    assert set(summary["status"]) <= {"finished", "budget", "skipped: sweep budget"} and "budget" in set(summary["status"])
    for run_id in summary["run_id"][summary["status"] == "budget"]:
        contests = store.root / run_id / "parts"
        assert len(list(contests.glob("contests-*"))) == len(list(contests.glob("messages-*")))  # whole contests only


def test_training_cells_train_the_opponent_once_and_a_rerun_reuses_it(tmp_path, small_tiny, tiny_path, store):
    plan = Sweep.load(sweep_file(tmp_path, small_tiny, base={"task": "sales", "contests": 2, "split": "test", "policy": "tiny",
                                                             "cache": False, "tiny": small_tiny, "train": {"contests": 6}},
                                 grid={"train.method": ["rft", "tfb"]}))
    assert plan.stages == [{"train": {"contests": 6, "method": "rft"}}, {"train": {"contests": 6, "method": "tfb"}}]
    summary = run_sweep(plan, store, LocalEngine(1))
    assert (summary["status"] == "finished").all() and list(summary["train.method"]) == ["rft", "tfb"]
    for i, method in enumerate(["rft", "tfb"]):
        saved = yaml.safe_load((store.root / plan.run_id(i) / "config.yaml").read_text())
        assert saved["opponent"] == f"hf:{store.root / (plan.run_id(i) + '-train')}/round-1/checkpoint"
        assert yaml.safe_load((store.root / f"{plan.run_id(i)}-train" / "config.yaml").read_text())["method"] == method
    trained = (store.root / f"{plan.run_id(0)}-train" / "metrics.json").stat().st_mtime_ns
    seconds = store.row(plan.run_id(0))["seconds"]
    run_sweep(plan, store, LocalEngine(1))  # everything done: nothing retrained, nothing re-run
    assert (store.root / f"{plan.run_id(0)}-train" / "metrics.json").stat().st_mtime_ns == trained
    assert seconds > 0 and store.row(plan.run_id(0))["seconds"] == seconds  # the index row is left as it was
    assert len(store.list()) == len(list(store.root.glob("*/config.yaml")))


@pytest.mark.parametrize("train, message", [
    ({"task": "election"}, r"cell 0 \(base\): train.task: set it on the cell, not under train"),
    ({"methd": "rft"}, r"train.methd: unknown training setting; known: .*method"),
    ({"method": "dpo"}, r"--method: unknown method 'dpo'; use rft, tfb or grpo"),
])
def test_a_bad_training_cell_is_refused_before_any_run(tmp_path, small_tiny, store, train, message):
    with pytest.raises(AgoraError, match=message):
        Sweep.load(sweep_file(tmp_path, small_tiny, base={"task": "sales", "policy": "tiny", "tiny": small_tiny, "train": train},
                              grid={})).validate()
