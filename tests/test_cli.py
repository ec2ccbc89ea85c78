"""The `agora` command: happy path through a saved config, and one-line errors for bad input."""

import re

import pandas as pd
import pytest

from typer.testing import CliRunner

from agora.cli.main import app
from agora.sim.config import RunConfig

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_run_runs_and_show(tmp_path, tiny_path, small_tiny):
    cfg = tmp_path / "config.yaml"
    RunConfig(task="election", contests=2, seed=3, policy="tiny", tiny=small_tiny, invalid="judge").save(cfg)
    result = invoke("run", "--config", cfg, "--store", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    run_id = re.search(r"run (\S+) finished: (\S+)", result.output).group(1)
    assert "vote share" in result.output and "abstentions" in result.output
    listing = invoke("runs", "--store", tmp_path / "runs")
    assert run_id in listing.output and "finished" in listing.output
    shown = invoke("show", run_id, "--store", tmp_path / "runs")
    assert shown.exit_code == 0 and "contest 0" in shown.output and "warning" not in shown.output
    # an audience that abstains on most ballots is flagged, not summarised as if it had voted
    path = tmp_path / "runs" / run_id / "judgments.parquet"
    judgments = pd.read_parquet(path)
    judgments.loc[judgments.index[:30], "choice"] = ""
    judgments.to_parquet(path)
    shown = invoke("show", run_id, "--store", tmp_path / "runs")
    assert ("audience warning: the audience abstained on 75% of ballots (audience check: doubtful above 10%); measure it: "
            "agora audience check --audience parametric") in " ".join(shown.output.split())


def test_bad_input_is_one_line_without_traceback(tmp_path):
    cases = [
        (("run", "--task", "poetry"), "unknown task 'poetry'; choose one of: sales, election, social"),
        (("run", "--policy", "hf:/no/such/model"), "model path '/no/such/model' does not exist"),
        (("run", "--audience", "crowd"), "unknown audience 'crowd'"),
        (("run", "--split", "dev"), "--split"),
        (("show", "nope"), "run 'nope' not found"),
        (("run", "--capability", "telepathy"), "unknown capability 'telepathy'"),
    ]
    for args, message in cases:
        result = invoke(*args, "--store", tmp_path / "runs")
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
    assert list((tmp_path / "runs").iterdir()) == [tmp_path / "runs" / "runs.sqlite"]  # no half-made run


def test_runs_on_empty_store(tmp_path):
    assert "no runs yet" in invoke("runs", "--store", tmp_path / "runs").output


def test_runs_lists_entries_of_every_kind(tmp_path):
    """Sweeps, trainings and audits have no seed or win shares: their cells stay blank instead of failing."""
    from agora.experiments.sweep import SweepRecord
    from agora.sim.store import RunStore
    from agora.training.trainer import TrainRecord

    store = RunStore(tmp_path / "runs")
    store.create_entry(SweepRecord(name="grid"), run_id="sweep-grid-0123abcd", contests_planned=12)
    store.create_entry(TrainRecord(method="rft"), task="sales", seed=3)
    result = invoke("runs", "--store", store.root)
    assert result.exit_code == 0, result.output
    [sweep] = [ln for ln in result.output.splitlines() if "sweep-grid" in ln]
    [train] = [ln for ln in result.output.splitlines() if "│ train" in ln]
    assert "│ sweep" in sweep and "0/12" in sweep and "nan" not in result.output
    assert "sales" in train and " 3 " in train and "3.0" not in train


def test_import_amazon_metadata_into_a_scenario_file(tmp_path):
    import json

    row = {"main_category": "All Electronics", "title": "Voltaic Cable", "average_rating": 4.5, "rating_number": 10,
           "features": ["braided"], "description": ["A sturdy braided cable for everyday charging. " * 13],
           "price": "$19.99", "images": [], "videos": [], "store": "Voltaic", "categories": ["Electronics", "Cables"],
           "details": {"Item Weight": "1.2 ounces"}, "parent_asin": "B0TEST", "bought_together": None}
    short = {**row, "parent_asin": "B0SHORT", "description": ["too short"]}
    src = tmp_path / "meta.jsonl"
    src.write_text(json.dumps(row) + "\n" + json.dumps(short) + "\n")
    out = tmp_path / "anchors" / "products.yaml"
    out.parent.mkdir()
    result = invoke("import", "amazon", src, out)
    assert result.exit_code == 0, result.output
    assert "kept 1" in result.output and "1 description length" in result.output
    assert "Voltaic Cable" in out.read_text()
    bad = invoke("import", "ebay", src, out)
    assert bad.exit_code == 2 and "unknown source kind 'ebay'" in bad.output


def test_saved_config_with_a_typo_names_the_field(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("task: sales\ntiny: {hidden: 64}\n")
    result = invoke("run", "--config", cfg, "--store", tmp_path / "runs")
    assert result.exit_code == 2 and "config.yaml: tiny: Value error, unknown tiny setting(s) hidden" in result.output


def test_runs_lists_entries_without_metrics(tmp_path):
    from agora.experiments.study import StudyRecord
    from agora.sim.store import RunStore

    store = RunStore(tmp_path / "runs")
    for task in ("sales", "social"):
        store.create_entry(StudyRecord(tasks=[task], seeds=[0], methods=["rft"]), task=task)
    assert all(m == {} for m in store.list()["metrics"])
    assert invoke("runs", "--store", tmp_path / "runs").exit_code == 0


@pytest.mark.parametrize("module", ["main", "common", "sim", "training", "probes", "memory", "reasoning", "experiments",
                                    "bench", "loaders", "dashboard"])
def test_every_command_module_imports_first_in_a_fresh_interpreter(module):
    """No command module may need another to be imported before it (the old entry-point loading crashed so)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"import agora.cli.{module}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-500:]
