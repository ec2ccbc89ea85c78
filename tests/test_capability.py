"""The capability seam: a registered capability sees each prompt before writing and each outcome after, and its
state is committed with each contest and restored on resume."""

import json

import pytest

from agora.sim.config import RunConfig
from agora.sim.errors import AgoraError
from agora.sim.registry import capabilities
from agora.sim.runner import resume_run, start_run


@capabilities.register("test-ledger")
class Ledger:
    name = "test-ledger"

    def __init__(self, backend=None, seed=0, label=""):
        self.prompts, self.outcomes = [], []
        self.backend_identity, self.seed, self.label = backend.identity, seed, label

    def before_write(self, task, anchor, prompt):
        self.prompts.append((anchor.id, prompt))
        return prompt

    def after_outcome(self, task, outcome):
        self.outcomes.append((outcome.contest, outcome.won, outcome.votes_for, outcome.votes_against, len(outcome.thoughts)))

    def state(self):
        return {"outcomes": self.outcomes, "backend": self.backend_identity, "seed": self.seed, "label": self.label}

    def restore(self, state):
        self.outcomes = [tuple(o) for o in state["outcomes"]]


def test_capability_hooks_see_every_contest(store, tiny_path, small_tiny, every_candidate_valid):
    cfg = RunConfig(task="sales", contests=3, seed=2, policy="tiny", tiny=small_tiny, capabilities=["test-ledger"])
    run = start_run(cfg, store)
    states = json.loads((run.path / "capabilities.json").read_text())
    contests = run.table("contests")
    for name in ("A", "B"):
        outcomes = states[name]["test-ledger"]["outcomes"]
        assert [o[0] for o in outcomes] == [0, 1, 2]
        for (contest, won, votes_for, votes_against, thoughts), row in zip(outcomes, contests.itertuples()):
            i = list(row.competitors).index(name)
            assert votes_for == row.votes[i] and votes_for + votes_against == sum(row.votes)
            assert won == (None if not row.winner else row.winner == name)
            assert thoughts == 20
    assert states["B"]["test-ledger"]["backend"].startswith("tiny-") and states["B"]["test-ledger"]["seed"] == 2


def test_a_capability_for_one_competitor_only(store, tiny_path, small_tiny):
    """B with memory against the same policy without: the comparison the memory drift table makes."""
    cfg = RunConfig(task="sales", contests=2, policy="tiny", tiny=small_tiny, capabilities={"B": ["test-ledger"]},
                    capability_settings={"test-ledger": {"label": "mine"}})
    run = start_run(cfg, store)
    states = json.loads((run.path / "capabilities.json").read_text())
    assert states["A"] == {} and len(states["B"]["test-ledger"]["outcomes"]) == 2
    assert states["B"]["test-ledger"]["label"] == "mine"  # settings reach the factory


def test_unknown_or_unused_capability_settings_are_clear_errors(store, tiny_path, small_tiny):
    bad = RunConfig(task="sales", contests=1, policy="tiny", tiny=small_tiny, capabilities=["test-ledger"],
                    capability_settings={"test-ledger": {"colour": "red"}})
    with pytest.raises(AgoraError, match="capability_settings.test-ledger: .*unexpected keyword argument 'colour'"):
        start_run(bad, store)
    unused = RunConfig(task="sales", contests=1, policy="tiny", tiny=small_tiny, capability_settings={"ace": {}})
    with pytest.raises(AgoraError, match="capability_settings: ace not among the run's capabilities \\(none\\)"):
        start_run(unused, store)
    assert store.list().empty


def test_capability_state_is_committed_with_each_contest_and_restored_on_resume(store, tiny_path, small_tiny, interrupted_run):
    cfg = RunConfig(task="sales", contests=4, seed=2, policy="tiny", tiny=small_tiny, capabilities={"B": ["test-ledger"]})
    run_id = interrupted_run(cfg, store, after=2)
    half = store.open(run_id)
    assert [p.name for p in half.parts.glob("capabilities-*")] == ["capabilities-000001.json"]  # only the latest
    assert [o[0] for o in half.capability_states()["B"]["test-ledger"]["outcomes"]] == [0, 1]
    resumed = resume_run(run_id, store)
    outcomes = json.loads((resumed.path / "capabilities.json").read_text())["B"]["test-ledger"]["outcomes"]
    assert [o[0] for o in outcomes] == [0, 1, 2, 3]  # the first two came back from the committed state


def test_a_run_whose_capability_state_is_missing_is_not_resumed_with_empty_memory(store, tiny_path, small_tiny):
    cfg = RunConfig(task="sales", contests=3, policy="tiny", tiny=small_tiny, capabilities=["test-ledger"])

    def stop_after_one(done, total):
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        start_run(cfg, store, stop_after_one)
    [run_id] = store.list()["run_id"]
    (store.open(run_id).parts / "capabilities-000000.json").unlink()  # as a run saved before states were committed
    with pytest.raises(AgoraError, match="no capability state saved with contest 0"):
        resume_run(run_id, store)
