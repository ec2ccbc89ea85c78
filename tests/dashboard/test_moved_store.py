"""A store copied elsewhere and read from another working directory still shows its runs: the index records each
run's folder relative to the store, and an older index (absolute or cwd-relative paths) falls back to the run's
folder under the store's current root."""

import shutil
import sqlite3
from contextlib import closing

import pytest
from typer.testing import CliRunner

from agora.cli.main import app
from agora.sim.store import RunStore
from tests.dashboard.test_pages import page, texts

PAGES = ["runs", "run_detail", "sweeps", "trade_off", "case_studies", "probes", "memory"]


@pytest.fixture
def moved(dash_store, tmp_path, monkeypatch):
    """The dashboard store copied to another folder, two of its rows as older versions indexed them, read from a third
    folder."""
    copy = tmp_path / "moved" / "runs"
    shutil.copytree(dash_store["root"], copy)
    old = {dash_store["sales"]: f"runs/{dash_store['sales']}", dash_store["social"]: str(dash_store["root"] / dash_store["social"])}
    with closing(sqlite3.connect(copy / "runs.sqlite")) as db, db:
        db.executemany("UPDATE runs SET path = ? WHERE run_id = ?", [(p, r) for r, p in old.items()])
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return copy


def test_the_index_resolves_every_run_under_the_store_it_is_read_from(dash_store, moved):
    listed = RunStore(moved, readonly=True).list()
    assert (listed["path"] == [str(moved / r) for r in listed["run_id"]]).all()
    with closing(sqlite3.connect(dash_store["root"] / "runs.sqlite")) as db:  # new rows name the folder, not the cwd
        assert db.execute("SELECT path FROM runs WHERE run_id = ?", (dash_store["audit"],)).fetchone() == (dash_store["audit"],)


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_on_the_moved_store(moved, name):
    page(moved, name)


def test_finished_runs_of_the_moved_store_show_their_tables(dash_store, moved):
    status = page(moved, "runs").dataframe[0].value.set_index("run_id")["status"]
    assert {status[dash_store[k]] for k in ("sales", "social", "audit")} == {"finished"}
    for key in ("sales", "social"):
        at = page(moved, "run_detail", run=dash_store[key])
        assert "No contest of this run has finished yet" not in texts(at) and len(at.dataframe[0].value) > 0
        assert str(moved / dash_store[key]) in texts(at)
    at = page(moved, "run_detail", run=dash_store["audit"])
    assert len(at.dataframe) > 0 and "This run has no tables" not in texts(at)


def test_agora_runs_lists_the_moved_store_as_finished(dash_store, moved):
    out = CliRunner().invoke(app, ["runs", "--store", str(moved)]).output
    lines = {line.split()[1]: line for line in out.splitlines() if len(line.split()) > 1}
    assert all("finished" in lines[dash_store[k]] for k in ("sales", "social", "audit"))
