"""The dashboard's cached reads notice new data: a run or table written after the first read shows on the next."""

import pandas as pd

from agora.dashboard import data
from agora.sim.config import RunConfig
from agora.sim.store import RunStore, atomic_parquet


def test_a_new_run_and_a_new_table_show_without_a_restart(tmp_path, monkeypatch):
    monkeypatch.setenv("AGORA_STORE", str(tmp_path))
    store = RunStore(tmp_path)
    first = store.create(RunConfig(task="sales", policy="tiny", contests=1))
    assert len(data.runs()) == 1
    store.create(RunConfig(task="sales", policy="tiny", contests=1, seed=1))
    assert len(data.runs()) == 2  # the index's mtime is the cache key: a second run shows at once

    folder = first.path
    atomic_parquet(pd.DataFrame({"x": [1]}), folder / "extra.parquet")
    assert data.table(folder, "extra")["x"].tolist() == [1]
    atomic_parquet(pd.DataFrame({"x": [1, 2]}), folder / "extra.parquet")
    assert data.table(folder, "extra")["x"].tolist() == [1, 2]
