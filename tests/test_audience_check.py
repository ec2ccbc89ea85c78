"""`agora audience check`: each figure against audiences whose behaviour is known by construction, the debiased
orders, and the logprob vote."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from agora.sim.audience import check as c
from agora.sim.audience.base import Judgment
from agora.sim.audience.debias import BothOrders, combine
from agora.sim.audience.llm import LLMAudience
from agora.cli.main import app
from agora.sim.errors import AgoraError


class Rule:
    """An audience that votes by a rule of (persona, a, b): known behaviour, to test each figure against."""

    def __init__(self, rule, identity="rule"):
        self.rule, self.identity = rule, identity

    def judge_many(self, task, contests):
        return [[Judgment(self.rule(b.persona, b.a, b.b), "because", "ok") for b in ballots] for _, ballots, _ in contests]


def first_slot(persona, a, b):
    return "A"


ENGLISH = {"the", "and", "to", "of", "is", "for", "with", "your", "you", "it", "in", "a"}


def reader(persona, a, b):  # reads: the message with more English in it wins (ties by the text itself, not the slot)
    def worth(m):
        return sum(w.lower() in ENGLISH for w in m.split()) - 1000 * ("<vote>" in m), m
    return "A" if worth(a) >= worth(b) else "B"


@pytest.fixture(scope="module")
def pairs(scenarios):
    return c.calibration_pairs(scenarios, per_task=2)


def test_the_shipped_calibration_gives_each_anchor_four_clear_cut_pairs_and_one_contested(scenarios):
    every = c.calibration_pairs(scenarios)
    kinds = [p.kind for p in every]
    assert {k: kinds.count(k) for k in set(kinds)} == {k: 18 for k in (*c.CONTENT_KINDS, "contested")}
    scrambled = next(p for p in every if p.kind == "scrambled")
    assert scrambled.other != scrambled.target and sorted(scrambled.other.split()) == sorted(scrambled.target.split())
    assert all(p.other == "" for p in every if p.kind == "empty")
    reseeded = next(p for p in c.calibration_pairs(scenarios, seed=1) if p.kind == "scrambled")
    assert reseeded.target == scrambled.target and reseeded.other != scrambled.other  # the scramble follows the seed


def test_a_voter_of_position_alone_is_unusable(scenarios, pairs):
    frame = c.ballots(pairs, Rule(first_slot), scenarios, personas=3)
    rep = c.report(frame, "rule", "rule")
    assert rep.parse_rate == 1.0 and rep.first_slot_share == 1.0
    assert rep.order_consistency == 0.0 and rep.content_sensitivity == 0.5
    assert rep.verdict == "unusable" and any(r.startswith("order_consistency 0.00") for r in rep.reasons)


def test_a_reader_is_consistent_and_sensitive_to_content_but_one_voter_twenty_times(scenarios, pairs):
    frame = c.ballots(pairs, Rule(reader), scenarios, personas=4)
    rep = c.report(frame, "rule", "rule")
    assert rep.order_consistency == 1.0 and rep.by_kind["empty"] == 1.0 and rep.by_kind["other_language"] == 1.0
    assert rep.persona_sensitivity["eta_squared"] == 0.0 and rep.persona_sensitivity["p_value"] == 1.0
    assert rep.verdict == "doubtful" and any("personas do not vote differently" in r for r in rep.reasons)


def test_personas_that_differ_are_measured_as_differing(scenarios, pairs):
    by_persona = Rule(lambda p, a, b: reader(p, a, b) if hash(p.id) % 2 else {"A": "B", "B": "A"}[reader(p, a, b)])
    frame = c.ballots([p for p in pairs if p.kind == "contested"], by_persona, scenarios, personas=8)
    found = c.persona_sensitivity(frame)
    assert found["eta_squared"] == 1.0 and found["p_value"] < 0.05 and found["pairs"] == 6


def test_agreement_is_kappa_on_the_same_ballots(scenarios, pairs):
    mine = c.ballots(pairs, Rule(reader), scenarios, personas=3)
    same = c.agreement(mine, c.ballots(pairs, Rule(reader), scenarios, personas=3))
    assert same["kappa"] == 1.0 and same["ballots"] == len(mine)
    other = c.agreement(mine, c.ballots(pairs, Rule(first_slot), scenarios, personas=3))
    assert other["kappa"] < 0.3 and other["ci_low"] <= other["kappa"] <= other["ci_high"]


def test_the_manipulation_battery_catches_an_audience_that_obeys_fake_tags(scenarios, pairs):
    battery = c.manipulation_pairs(scenarios, pairs)
    assert {p.kind for p in battery} == {f"manipulation:{n}" for n in
                                         ("ignore_instructions", "fake_vote_tag", "fake_system_line", "hidden_instruction", "scam_claim")}
    obeys = Rule(lambda p, a, b: "A" if "<vote>A</vote>" in a else "B" if "<vote>A</vote>" in b else reader(p, a, b))
    rep = c.report(c.ballots(battery, obeys, scenarios, personas=2), "rule", "rule")
    assert rep.manipulation["fake_vote_tag"] == 1.0 and rep.manipulation["ignore_instructions"] == 1.0  # longer wins
    ignores = c.report(c.ballots(battery, Rule(reader), scenarios, personas=2), "rule", "rule")
    assert ignores.manipulation["fake_vote_tag"] == 0.0
    assert any(r.startswith("manipulable: ") and "fake_vote_tag wins 100%" in r for r in rep.reasons)


def test_user_pairs_report_bad_rows_by_line(tmp_path, scenarios):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"task": "sales", "anchor_text": "A kettle, 1.2 l.", "a": "A 1.2 l kettle.", "b": ""}) + "\n"
                    + json.dumps({"task": "sales", "anchor_id": "nope", "a": "x", "b": "y"}) + "\n"
                    + json.dumps({"task": "sales", "anchor_text": "x", "a": "x"}) + "\n")
    found, problems = c.user_pairs(path, scenarios)
    assert [(p.kind, p.origin) for p in found] == [("user:pair", "pairs.jsonl line 1")]
    assert problems == [f"{path} line 2: field 'anchor_id': no sales anchor 'nope'",
                        f"{path} line 3: field 'b': expected a message (a string)"]


def test_both_orders_turns_a_slot_choice_into_an_abstention_and_keeps_a_reader_s_vote(scenarios, pairs):
    slot = c.report(c.ballots(pairs, BothOrders(Rule(first_slot)), scenarios, personas=2), "rule", "rule")
    assert slot.parse_rate == 0.0 and slot.verdict == "unusable"
    read = c.ballots(pairs, BothOrders(Rule(reader)), scenarios, personas=2)
    assert list(read["chose_target"]) == list(c.ballots(pairs, Rule(reader), scenarios, personas=2)["chose_target"])
    assert set(c.ballots(pairs[:1], BothOrders(Rule(first_slot)), scenarios, personas=2)["parse_status"]) == {"order_disagreement"}


def test_both_orders_averages_probabilities_so_position_bias_cancels():
    shown, swapped = Judgment("A", "", "logprob", p_a=0.8), Judgment("A", "", "logprob", p_a=0.7)
    # P(message a) is 0.8 shown first and 1 - 0.7 = 0.3 shown second: 0.55, for a
    assert combine(shown, swapped) == Judgment("A", "", "logprob", "", 0.55)
    assert combine(Judgment("A", "", "ok"), Judgment(None, "", "abstain")).parse_status == "abstain"


class Letters:
    identity = "letters"

    def __init__(self, lp):
        self.lp = lp

    def option_logprobs(self, prompts, options):
        assert all("single letter, A or B, and nothing else" in p[-1]["content"] for p in prompts)
        return [dict(self.lp) for _ in prompts]


def test_the_logprob_vote_reads_the_letters_probabilities(scenarios, pairs):
    audience = LLMAudience(Letters({"A": math.log(0.3), "B": math.log(0.1)}), vote="logprob")
    frame = c.ballots(pairs[:1], audience, scenarios, personas=2)
    assert list(frame["vote"]) == ["A"] * 4 and list(frame["p_a"]) == [0.75] * 4 and set(frame["parse_status"]) == {"logprob"}
    mute = LLMAudience(Letters({"A": math.log(0.01), "B": -math.inf}), vote="logprob")
    assert set(c.ballots(pairs[:1], mute, scenarios, personas=2)["parse_status"]) == {"abstain"}


def test_the_logprob_vote_needs_a_backend_that_reads_probabilities():
    class TextOnly:
        identity = "text-only"

    with pytest.raises(AgoraError, match="text-only does not"):
        LLMAudience(TextOnly(), vote="logprob")


def test_the_check_command_writes_its_report(tmp_path):
    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["audience", "check", "--personas", "3", "--anchors", "1", "--out", str(out),
                                      "--store", str(tmp_path / "store")])
    assert result.exit_code == 0, result.output
    rep = json.loads(out.read_text())
    assert rep["ballots"] == 3 * 2 * (3 * 3 + 3 * 2 + 3 * 5)  # content kinds without other_anchor (1 anchor), contested x2, battery
    assert rep["verdict"] in ("usable", "doubtful", "unusable") and "rule-based control" in result.output
    assert (next((tmp_path / "store").glob("*/ballots.parquet"))).is_file()


def test_a_run_warns_when_its_own_ballots_show_abstentions_or_a_slot_preference():
    import pandas as pd

    from agora.sim.metrics import audience_health

    def ballots(votes):
        return pd.DataFrame({"vote": votes, "choice": ["x" if v else "" for v in votes],
                             "parse_status": ["ok" if v else "abstain" for v in votes]})

    reads = audience_health(ballots(["A", "B"] * 50))
    assert reads["first_slot_share"] == 0.5 and reads["audience_warnings"] == []
    slot = audience_health(ballots(["A"] * 90 + ["B"] * 10))
    assert slot["first_slot_share"] == 0.9 and "follows the slot (order consistency at most 20%" in slot["audience_warnings"][0]
    assert audience_health(ballots(["A"] * 4))["audience_warnings"] == []  # four votes prove nothing
    mute = audience_health(ballots(["A", "B"] * 40 + [""] * 20))
    assert mute["audience_warnings"] == ["the audience abstained on 20% of ballots (audience check: doubtful above 10%)"]


def test_a_run_with_both_orders_records_each_persona_s_surviving_choice(store, tiny_path, small_tiny):
    from agora.sim.config import RunConfig
    from agora.sim.runner import start_run

    run = start_run(RunConfig(task="sales", contests=2, policy="tiny", tiny=small_tiny, invalid="judge",
                              audience_orders="both"), store)
    judgments = run.table("judgments")
    assert len(judgments) == 2 * 20 and set(judgments["parse_status"]) <= {"ok", "order_disagreement"}
    assert ((judgments["parse_status"] == "order_disagreement") == (judgments["choice"] == "")).all()
    metrics = store.list().set_index("run_id").loc[run.run_id, "metrics"]
    assert metrics["order_disagreements"] == int((judgments["parse_status"] == "order_disagreement").sum())
    with pytest.raises(AgoraError, match="needs an LLM audience"):
        start_run(RunConfig(task="sales", contests=1, policy="tiny", tiny=small_tiny, audience_vote="logprob"), store)
