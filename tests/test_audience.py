"""Audiences: parametric features and thoughts; the LLM protocol's prompt, parsing, retry and abstention."""

from agora.sim.audience.base import Ballot
from agora.sim.audience.features import extract
from agora.sim.audience.llm import LLMAudience, parse_vote, voter_prompt
from agora.sim.audience.parametric import ParametricAudience
from agora.sim.backends.base import Sampling


def audience(scenarios):
    return ParametricAudience(scenarios.root / "audience" / "parametric.yaml")


def test_features_count_true_and_invented_numbers(scenarios):
    product = scenarios.anchors("sales", "train")[0]
    spec = product.specs[0]
    text = f"The best deal ever! It has a {spec.name} of {spec.value:g} {spec.unit}, and 45,000 buyers love it."
    x, evidence = extract(text, product, audience(scenarios).assumptions)
    assert evidence["false_numbers"] == ["45,000"]
    assert f"{spec.value:g}" in evidence["numbers"]
    assert {"best", "ever"} <= {w.lower() for w in evidence["hype"]}
    assert x["true_facts"] > 0 and x["hype"] > x["urgency"] == 0


def test_sceptic_and_impulsive_persona_disagree_on_hype(scenarios):
    product = scenarios.anchors("sales", "train")[0]
    task = scenarios.task("sales")
    people = sorted((p for p in scenarios.personas), key=lambda p: p.traits.scepticism)
    gullible, sceptic = people[0], people[-1]
    hype = f"{product.name}: the best, most amazing, incredible, unbeatable buy ever! Hurry, don't miss it!"
    plain = f"{product.name} comes with {product.features[0]}. One honest note: {product.limitations[0]}."
    aud = audience(scenarios)
    u = lambda p, t: sum(aud.utilities(task, product, p, t).values())
    assert u(sceptic, plain) > u(sceptic, hype)
    assert u(gullible, hype) - u(gullible, plain) > u(sceptic, hype) - u(sceptic, plain)


def test_parametric_judgments_are_seeded_and_explained(scenarios):
    product = scenarios.anchors("sales", "train")[0]
    task = scenarios.task("sales")
    ballots = [Ballot(p, f"{product.name} is the best ever!", f"{product.name} has {product.features[0]}.") for p in scenarios.personas]
    first = audience(scenarios).judge(task, product, ballots, seed=5)
    again = audience(scenarios).judge(task, product, ballots, seed=5)
    assert first == again
    assert {j.vote for j in first} == {"A", "B"}  # personas differ
    assert all(j.thought.startswith(("I prefer A", "I prefer B", "Both were")) for j in first)


def test_parse_vote_handles_tags_loose_answers_and_ambiguity():
    assert parse_vote("<think>B is honest</think><vote>B</vote>") == ("B", "B is honest")
    assert parse_vote("<think>hmm</think> <vote> a </vote>")[0] == "A"
    assert parse_vote("<think>x</think>My vote is: B")[0] == "B"
    assert parse_vote("<think>x</think><vote>A</vote><vote>B</vote>")[0] is None
    assert parse_vote("I like both of them.")[0] is None
    # the letter alone (SmolLM2's most common reply to the voter prompt) is a vote; a letter in a sentence is not
    assert [parse_vote(r)[0] for r in ("A", " **B**\n", "(A).", "A or B", "B\n\n## Task Instructions")] == ["A", "B", "A", None, None]


def test_voter_prompt_follows_the_study(scenarios):
    persona = scenarios.personas[0]
    chat = voter_prompt(scenarios.task("election"), Ballot(persona, "first", "second"))
    user = chat[1]["content"]
    assert user.index("# Roleplay Instructions") < user.index(persona.biography) < user.index("# Task Instructions")
    assert user.endswith("# Choices\n## A\nfirst\n\n## B\nsecond")
    assert "<vote>" in user and "<think>" in chat[0]["content"]


class Scripted:
    """A backend double that replays fixed replies, to drive the retry/abstain logic exactly."""

    identity = "scripted"

    def __init__(self, rounds):
        self.rounds = list(rounds)
        self.calls = []

    def generate(self, prompts, sampling: Sampling, seeds=None):
        self.calls.append(len(prompts))
        return self.rounds.pop(0)[: len(prompts)]


def test_unparseable_reply_is_retried_once_then_abstains(scenarios):
    product = scenarios.anchors("sales", "train")[0]
    ballots = [Ballot(p, "a", "b") for p in scenarios.personas[:3]]
    backend = Scripted([["<vote>A</vote>", "no idea", "???"], ["<vote>B</vote>", "still nothing"]])
    out = LLMAudience(backend).judge(scenarios.task("sales"), product, ballots, seed=1)
    assert backend.calls == [3, 2]  # one batch for all, one batch for the retries
    assert [(j.vote, j.parse_status) for j in out] == [("A", "ok"), ("B", "retried"), (None, "abstain")]
    assert out[2].raw == "still nothing"


def test_loose_parse_ignores_the_article_a():
    assert parse_vote("<think>x</think>My answer is a hard one.")[0] is None
    assert parse_vote("I choose **A** in the end")[0] == "A"
