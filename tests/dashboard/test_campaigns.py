"""The Campaigns page: a run with a horizon shown round by round, model text inert, leans and votes counted."""

import os

import pandas as pd
from streamlit.testing.v1 import AppTest

from agora.sim.campaign import rounds_of
from agora.sim.config import RunConfig
from agora.sim.runner import start_run
from agora.sim.store import RunStore

from tests.dashboard.conftest import APP


def page(root, **query):
    os.environ["AGORA_STORE"] = str(root)
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page("views/campaigns.py")
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_campaign_shows_each_rounds_messages_inert_with_its_leans_and_votes(tmp_path, tiny_path, small_tiny):
    store = RunStore(tmp_path / "runs")
    start_run(RunConfig(task="sales", contests=1, policy="tiny", tiny=small_tiny, invalid="judge"), store)  # no campaign
    alone = RunStore(tmp_path / "single")  # a store without a campaign (its own root: the page caches a store's index)
    start_run(RunConfig(task="sales", contests=1, policy="tiny", tiny=small_tiny, invalid="judge"), alone)
    assert "No campaign in this store yet" in " ".join(str(e.value) for e in page(alone.root).info)
    run = start_run(RunConfig(task="sales", contests=1, policy="tiny", tiny=small_tiny, invalid="judge", horizon=2), store)
    messages = pd.read_parquet(run.path / "messages.parquet")
    messages.loc[messages["round"] == 2, "text"] = "<script>alert(1)</script> **round two**"
    messages.to_parquet(run.path / "messages.parquet", index=False)
    at = page(store.root, run=run.run_id)
    assert at.selectbox[0].options == [run.run_id]  # a single contest is no campaign
    shown = " ".join(str(m.value) for m in at.markdown)
    assert "**Round 1 of 2**" in shown and "**Round 2 of 2** — the vote" in shown and "**Round 3" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt; **round two**" in shown and "<script>" not in shown
    table = rounds_of(messages, run.table("judgments"), 0)
    votes = run.table("contests").set_index("contest").loc[0, "votes"]
    assert table[table["round"] == 2]["leaning"].tolist() == list(votes)
    assert table.groupby("round")["leaning"].sum().tolist() == [20, 20]  # every persona leans each round
    persona = at.dataframe[0].value
    assert persona["round"].tolist() == [1, 2] and persona["lean"].isin(["A", "B"]).all()
