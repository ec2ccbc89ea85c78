"""Contest runs end to end on the embedded model: tables, determinism, A/B mapping, resume."""

import json
from pathlib import Path

import pandas as pd
import pytest

from agora.sim.audience.base import Judgment
from agora.sim.config import RunConfig
from agora.sim.errors import AgoraError
from agora.sim.runner import build_model, resume_run, start_run, validate_config
from agora.sim.store import TABLES


def config(small_tiny, **kw):
    """The small test control writes mostly invalid candidates (it trains for seconds): these tests are about how
    contests are judged, so its contests are judged anyway (`invalid: judge`, the reference study's protocol)."""
    return RunConfig(**{"task": "sales", "contests": 3, "seed": 7, "policy": "tiny", "tiny": small_tiny,
                        "invalid": "judge", **kw})


def test_invalid_candidates_are_kept_with_their_reason_and_never_shown_to_the_audience(store, tiny_path, small_tiny):
    judged = start_run(config(small_tiny, contests=4), store)
    forfeit = start_run(config(small_tiny, contests=4, invalid="forfeit"), store)
    void = start_run(config(small_tiny, contests=4, invalid="void"), store)
    messages, contests = forfeit.table("messages"), forfeit.table("contests")
    pd.testing.assert_frame_equal(messages, judged.table("messages"))  # the same messages, checked the same way
    reasons = messages.groupby("contest")["invalid"].apply(list)
    assert (reasons.str.join("") != "").any(), "the small control should write some invalid candidate"
    for c in contests.itertuples():
        mine, judgments = reasons[c.contest], forfeit.table("judgments")
        valid = [name for name, r in zip(c.competitors, mine) if not r]
        expected = "judged" if len(valid) == 2 else "forfeit" if len(valid) == 1 else "void"
        assert c.outcome == expected and c.winner == (valid[0] if expected == "forfeit" else c.winner)
        assert (len(judgments[judgments["contest"] == c.contest]) == 20) == (expected == "judged")
    assert set(void.table("contests")["outcome"]) <= {"judged", "void"}
    assert set(judged.table("contests")["outcome"]) == {"judged"} and len(judged.table("judgments")) == 4 * 20
    metrics = json.loads((forfeit.path / "metrics.json").read_text())
    assert sum(metrics["invalid_messages"].values()) == int((messages["invalid"] != "").sum())
    assert sum(metrics["outcomes"].values()) == 4 and metrics["ties"] <= metrics["outcomes"].get("judged", 0)


def test_run_writes_tables_and_index(store, tiny_path, small_tiny):
    run = start_run(config(small_tiny), store)
    for t in TABLES:
        assert (run.path / f"{t}.parquet").is_file()
    judgments, messages = run.table("judgments"), run.table("messages")
    assert len(judgments) == 3 * 20
    assert judgments.groupby("contest")["persona_id"].nunique().tolist() == [20, 20, 20]
    assert len(messages) == 6 and set(messages["competitor"]) == {"A", "B"}
    assert not messages["text"].str.contains(r"\{[a-z]+\d*\+?\}").any()  # realised: no slot token left
    assert (run.path / "config.yaml").is_file() and not (run.path / "parts").exists()
    index = store.list()
    row = index.iloc[0]
    assert (row.run_id, row.status, row.contests_done) == (run.run_id, "finished", 3)
    assert row.metrics["judgments"] == 60
    assert run.config.resolved["policies"]["A"].startswith("tiny-")


def test_same_seed_gives_identical_tables(store, tiny_path, small_tiny):
    first = start_run(config(small_tiny, task="social", cache=False), store)  # no cache: the model itself must repeat
    second = start_run(config(small_tiny, task="social", cache=False), store)
    other = start_run(config(small_tiny, task="social", seed=8, cache=False), store)
    for t in TABLES:
        pd.testing.assert_frame_equal(first.table(t), second.table(t))
    assert not first.table("messages")["text"].equals(other.table("messages")["text"])


class AlwaysA:
    """An audience double that always votes for whatever it is shown as A."""

    identity = "always-a"

    def judge(self, task, anchor, ballots, seed):
        return [Judgment("A", "first one", "ok") for _ in ballots]

    def judge_many(self, task, contests):
        return [self.judge(task, anchor, ballots, seed) for anchor, ballots, seed in contests]


def test_ab_order_is_shuffled_and_mapped_back(tiny_path, small_tiny, scenarios):
    cfg = config(small_tiny, contests=4)
    model = build_model(cfg, validate_config(cfg))
    model.audience = AlwaysA()
    for _ in range(4):
        model.step()
        j, c = model.last.judgments, model.last.contest
        assert set(j["shown_a"]) == {"A", "B"}  # both orders occur among 20 personas
        assert (j["choice"] == j["shown_a"]).all()  # the letter maps back to the competitor shown as A
        votes = dict(zip(c["competitors"].iat[0], c["votes"].iat[0]))
        assert votes == j["shown_a"].value_counts().to_dict()


def test_resume_adds_exactly_the_missing_contests(store, tiny_path, small_tiny, interrupted_run):
    cfg = config(small_tiny, contests=5, task="election")
    run_id = interrupted_run(cfg, store, after=2)
    assert store.list()["status"].iat[0] == "interrupted"
    half = store.open(run_id)
    assert half.done_contests() == [0, 1]
    seen = []
    resumed = resume_run(run_id, store, lambda done, total: seen.append(done))
    assert seen == [3, 4, 5]  # only contests 2, 3, 4 were run
    whole = start_run(cfg, store)
    for t in TABLES:
        pd.testing.assert_frame_equal(resumed.table(t), whole.table(t))
    with pytest.raises(AgoraError, match="already finished"):
        resume_run(run_id, store)


def test_social_contests_record_cascades(store, tiny_path, small_tiny):
    run = start_run(config(small_tiny, task="social", contests=2), store)
    contests = run.table("contests")
    for likes, votes, exposures in zip(contests["cascade_likes"], contests["votes"], contests["cascade_exposures"]):
        assert all(0 <= l <= v for l, v in zip(likes, votes))
        assert all(e >= 2 for e in exposures)  # at least the seed personas see each post
    metrics = json.loads((run.path / "metrics.json").read_text())
    assert metrics["cascade_max"] == max(max(l) for l in contests["cascade_likes"])


def test_llm_audience_path_with_the_distilled_tiny_judge(store, tiny_path, small_tiny):
    """prompt -> one batched generate per contest -> parse -> retry -> abstain, on a real local model."""
    run = start_run(config(small_tiny, audience="llm:tiny", contests=2), store)
    j = run.table("judgments")
    assert len(j) == 40 and set(j["parse_status"]) <= {"ok", "retried", "abstain"}
    abstained = j["parse_status"] == "abstain"
    assert (j.loc[abstained, "choice"] == "").all() and (j.loc[~abstained, "vote"].isin(["A", "B"])).all()
    metrics = json.loads((run.path / "metrics.json").read_text())
    assert metrics["abstentions"] == int(abstained.sum())
    assert run.config.resolved["audience"].startswith("llm:judge-")
    from agora.sim.tiny.control import manifest

    judge = manifest(Path(run.config.resolved["audience_path"]))
    assert judge["format"] == "judge" and 0 <= judge["agreement_with_parametric"] <= 1 and 0 <= judge["parse_rate"] <= 1


def test_a_cached_rerun_makes_no_call_and_gives_the_same_tables(store, tiny_path, small_tiny, tmp_path, monkeypatch):
    from agora.sim.backends.cached import CallCache

    monkeypatch.setenv("AGORA_CACHE", str(tmp_path / "calls.sqlite"))
    first = start_run(config(small_tiny, audience="llm:tiny", contests=2), store)
    again = start_run(config(small_tiny, audience="llm:tiny", contests=2), store)
    calls = json.loads((first.path / "metrics.json").read_text())["llm_calls"]
    assert calls >= 2 * (2 + 20)  # two messages and twenty judgments a contest, plus any retries
    assert json.loads((again.path / "metrics.json").read_text())["llm_calls"] == 0
    for t in TABLES:
        pd.testing.assert_frame_equal(first.table(t), again.table(t))
    stats = CallCache().stats()
    assert stats["entries"].sum() == calls and stats["hits"].sum() == calls and len(stats) == 2  # policy and judge


def test_a_run_stops_cleanly_at_its_call_budget_and_resumes_within_it(store, tiny_path, small_tiny):
    cfg = config(small_tiny, contests=4, max_calls=5, cache=False)  # two calls a contest (parametric audience)
    run = start_run(cfg, store)
    row = store.list().iloc[0]
    assert row.status == "budget" and "call budget reached: 4 of 5 calls used, 2 more needed" in row.metrics["stopped"]
    assert run.done_contests() == [0, 1] and not run.finished() and run.usage() == {"calls": 4, "tokens": run.usage()["tokens"]}
    assert len(run.table("judgments")) == 40  # committed contests only: nothing half-written
    resumed = resume_run(run.run_id, store)  # the used budget carries over: still no room for a third contest
    assert resumed.done_contests() == [0, 1] and store.list().iloc[0].status == "budget"


class SeedEcho:
    """A batch-invariant backend double: each completion is a function of its prompt and its own seed only,
    and every (prompt, seed) it is asked for is recorded."""

    identity = "seed-echo"

    def __init__(self):
        self.calls = []

    def generate(self, prompts, sampling, seeds=None):
        from agora.sim.backends.base import prompt_seeds

        seeds = prompt_seeds(sampling, len(prompts), seeds)
        self.calls.append([(str(p), s) for p, s in zip(prompts, seeds)])
        return [f" {{name}} is good {s % 97}.<think>seed {s}</think><vote>{'AB'[s % 2]}</vote>" for s in seeds]


def test_contests_batched_together_ask_for_the_same_samples_as_contests_played_one_by_one(small_tiny, tiny_path):
    """One generate per backend and one audience batch for several contests, each prompt with the seed it has
    when contests are played one by one — so a batch-invariant backend gives identical rows. (A real model's
    numerics differ slightly between batch shapes, so long samples can differ in rare tokens.)"""
    from agora.sim.audience.llm import LLMAudience

    models, backends = [], []
    for _ in range(2):
        model = build_model(config(small_tiny, contests=4), validate_config(config(small_tiny, contests=4)))
        backend = SeedEcho()
        for w in model.writers:
            w.policy.backend = backend
        model.audience = LLMAudience(backend)
        models.append(model)
        backends.append(backend)
    one_by_one = [models[0].play([c])[0] for c in range(4)]
    batched = models[1].play([0, 1]) + models[1].play([2, 3])
    assert len(backends[0].calls) == 8 and len(backends[1].calls) == 4  # (write + judge) per contest vs per pair
    assert sorted(sum(backends[0].calls, [])) == sorted(sum(backends[1].calls, []))
    for a, b in zip(one_by_one, batched):
        for table in ("messages", "judgments", "contest"):
            pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table))
    with pytest.raises(ValueError, match="batch_contests > 1 cannot be used with capabilities"):
        config(small_tiny, batch_contests=4, capabilities=["delethink"])
