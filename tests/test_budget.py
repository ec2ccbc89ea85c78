"""A run's LLM calls: `llm_calls` is what its tables cost, however often it was stopped and resumed, and the calls
spent on a contest a stop cut short are counted apart as `llm_calls_lost` (none with a call cache, which hands them
back to the contest played again)."""

import json

import pytest

from agora.sim import store as store_module
from agora.sim.config import RunConfig
from agora.sim.runner import resume_run, start_run
from agora.sim.store import RunStore


class Killed(BaseException):
    """A SIGKILL in-process: no handler of the run sees it, so nothing is marked or saved on the way out."""


@pytest.fixture(params=[False, True], ids=["no cache", "cache"])
def cfg(request, openai_stub, monkeypatch):
    """Two contests whose policy is a stub OpenAI server: every call is counted and costs no model time."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with openai_stub.serve(lambda request: (200, openai_stub.completion("Buy the turntable."))) as url:
        yield RunConfig(task="sales", contests=2, seed=2, policy=f"openai:m@{url}", prompt_format="plain",
                        invalid="judge", cache=request.param)


def metrics(run) -> dict:
    return json.loads((run.path / "metrics.json").read_text())


def test_a_resumed_run_counts_its_tables_calls_and_apart_those_a_kill_lost(cfg, tmp_path, interrupted_run, monkeypatch):
    def store(name: str) -> RunStore:  # each run with a cold call cache of its own
        monkeypatch.setenv("AGORA_CACHE", str(tmp_path / f"{name}.sqlite"))
        return RunStore(tmp_path / name)

    whole = metrics(start_run(cfg, store("whole")))
    assert whole["llm_calls"] == 2 * 2 and whole["llm_calls_lost"] == whole["llm_tokens_lost"] == 0  # two writers

    stopped = store("ctrl-c")  # Ctrl-C between two contests: nothing is lost
    resumed = metrics(resume_run(interrupted_run(cfg, stopped, after=1), stopped))
    assert (resumed["llm_calls"], resumed["llm_calls_lost"]) == (whole["llm_calls"], 0)

    write = store_module.atomic_parquet

    def kill_at_the_commit_mark(df, path):  # contest 1 written and its usage saved, its commit mark not
        if path.name == "contests-000001.parquet":
            monkeypatch.setattr(store_module, "atomic_parquet", write)
            raise Killed
        write(df, path)

    monkeypatch.setattr(store_module, "atomic_parquet", kill_at_the_commit_mark)
    killed = store("killed")
    with pytest.raises(Killed):
        start_run(cfg, killed)
    [run_id] = killed.list()["run_id"]
    again = resume_run(run_id, killed)
    found = metrics(again)
    assert (found["llm_calls"], found["llm_tokens"]) == (whole["llm_calls"], whole["llm_tokens"])
    assert found["llm_calls_lost"] == (0 if cfg.cache else 2)  # contest 1's writing, done again without a cache
    assert again.usage()["calls"] == found["llm_calls"] + found["llm_calls_lost"]  # all it spent
