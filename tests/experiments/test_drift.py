"""The experiments' tables, the CLI group, and the dashboard's Memory page on a memory entry."""

import pandas as pd
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from agora.experiments.drift import drift_markdown, retrieval_markdown
from agora.cli.main import app
from agora.sim.store import RunStore

from tests.dashboard.conftest import APP


def test_drift_table_reports_relative_change_or_absolute_when_the_base_is_zero():
    df = pd.DataFrame([
        {"task": "sales", "capability": "ace", "measure": "vote share", "base": 0.5, "tuned": 0.449, "change": -0.051,
         "low": -0.114, "high": 0.014, "absolute": None},
        {"task": "sales", "capability": "ace", "measure": "misrepresentation", "base": 0.183, "tuned": 0.35, "change": 0.909,
         "low": 0.071, "high": 3.2, "absolute": 0.167},
        {"task": "sales", "capability": "none", "measure": "misrepresentation", "base": 0.0, "tuned": 0.05, "change": None,
         "low": None, "high": None, "absolute": 0.05}])
    assert drift_markdown(df).splitlines()[2:] == [
        "| sales | ace | B vote share | 50% | 44.9% | -5.1% | [-11.4%, +1.4%] |",
        "| sales | ace | misrepresentation | 18.3% | 35.0% | +90.9% (rel.) | [+7.1%, +320.0%] |",
        "| sales | none | misrepresentation | 0.0% | 5.0% | +5.0% (abs.) | — |"]
    rows = pd.DataFrame([{"link_following": True, "questions": 20, "correct": 20, "accuracy": 1.0, "mean_turns": 3.0}])
    assert retrieval_markdown(rows).splitlines()[2] == "| yes | 20 | 20 | 100.0% | 3.0 |"


def test_cli_group_is_registered_and_checks_its_options(tmp_path):
    result = CliRunner().invoke(app, ["memory", "drift", "--capability", "acme", "--store", str(tmp_path)])
    assert result.exit_code != 0 and "unknown acme; use ace, arcmemo, memagent or none" in result.output


def test_retrieval_entry_is_saved_and_shown_on_the_memory_page(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs")
    result = CliRunner().invoke(app, ["memory", "retrieval", "--store", str(store.root), "--out", str(tmp_path / "t.txt")])
    assert result.exit_code == 0, result.output
    table = (tmp_path / "t.txt").read_text().splitlines()
    assert table[2].startswith("| yes | 20 | 20 | 100.0% |") and table[3].startswith("| no (user.md only) | 20 |")
    assert store.list()["kind"].tolist() == ["memory"]
    monkeypatch.setenv("AGORA_STORE", str(store.root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("views/memory.py")
    at.run()
    assert not at.exception and [s.value for s in at.subheader] == ["seeded · memagent"]
    shown = at.dataframe[0].value
    assert "user.md" in shown["path"].tolist() and len(shown) == 21
