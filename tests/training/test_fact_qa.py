"""Fact questions from anchors: answers compared after normalisation, the template writer, each check, the cache, and
the grounding reward GRPO calls."""

import pytest

from agora.training.fact_qa import (FactQuestion, check, grounding, invented, leaks, misbound, questions_for, states,
                                    template_questions, tokens)


@pytest.fixture(scope="module")
def earbuds(scenarios):
    return next(a for a in scenarios.anchors("sales") if a.id == "corvo-drift-wireless-earbuds")


def test_answers_match_across_case_units_hyphens_and_number_formats():
    assert states("Boils 0.8 L in two minutes", "0.8 litres") and states("an 8-hour battery", "8 hours")
    assert states("yours for $129.00", "$129") and states("1200 people left", "1,200")
    assert states("it CUTS WAIT TIMES BY 30 percent", "30%") and states("a public school teacher", "public-school teacher")
    assert not states("it weighs 5.2 km", "5.2 kg") and not states("it lasts 18 hours", "8 hours")
    assert tokens("The K3's capacity: 0.80 L.") == ["k3", "capacity", "0.8", "liter"]


def test_template_questions_ask_the_structured_facts(earbuds, scenarios):
    asked = {q.fact: (q.question, q.answer) for q in template_questions(earbuds, "sales")}
    assert asked["spec:battery life"] == ("What is the battery life of the Corvo Drift Wireless Earbuds?", "8 hours")
    assert asked["price"][1] == "$79.99" and "material" not in asked  # "recycled plastic shell": no one-word material
    assert asked["limitation"] == ("What kind of charging does the Corvo Drift Wireless Earbuds lack?", "wireless")
    turntable = next(a for a in scenarios.anchors("sales") if a.id == "halden-groove-belt-drive-turntable")
    assert ("material", "What is the platter of the Halden Groove Belt-Drive Turntable made of?", "aluminium") in {
        (q.fact, q.question, q.answer) for q in template_questions(turntable, "sales")}
    candidate = scenarios.anchors("election")[0]
    asked = {q.answer: q.question for q in template_questions(candidate, "election")}
    assert asked["30%"] == "Ines Halvorsen cut clinic wait times by what percentage?"
    assert asked["expand"] == 'Ines Halvorsen pledges to "___ night bus service". What is the missing word?'


def test_each_check_rejects_what_it_should(earbuds):
    q = FactQuestion(earbuds.id, "What is the battery life of the earbuds?", "8 hours", subject=earbuds.name)
    candidates = [
        q,
        FactQuestion(earbuds.id, "Where are they made?", "in Denmark", subject=earbuds.name),  # not in the anchor
        FactQuestion(earbuds.id, "Do the 8 hours of battery hold up?", "8 hours", subject=earbuds.name),  # leak
        FactQuestion(earbuds.id, "How are the controls?", "trigger easily when adjusting the fit", subject=earbuds.name),
        FactQuestion(earbuds.id, "What is the battery life of the earbuds?", "8 hours"),  # asked before
        FactQuestion(earbuds.id, " ", "8 hours"),
    ]
    kept, rejected = check(candidates, earbuds)
    assert kept == [q]
    assert rejected == {"answerable": 1, "leakage": 1, "short": 1, "duplicate": 1, "format": 1}


def test_a_name_shown_beside_the_question_is_leakage_too():
    q = FactQuestion("x", "Where did the events of this story happen?", "Millbrook",
                     subject="Millbrook River Bursts Its Banks")
    assert leaks(q) and not leaks(FactQuestion("x", q.question, "Millbrook", subject="Flood"))
    # most of the answer's words given, though not in a row; half of them is not a leak
    assert leaks(FactQuestion("x", "What is the built-in speakers?", "The built-in speakers are weak."))
    assert not leaks(FactQuestion("x", "What is the piece count of the set?", "620 pieces"))


def test_questions_for_every_task_are_answerable_without_leakage_and_cached(scenarios):
    for task in scenarios.tasks:
        anchor = scenarios.anchors(task, "test")[0]
        questions = questions_for(anchor, task)
        assert len(questions) >= 3, task
        assert all(states(anchor.text, q.answer) and not leaks(q) and q.split == "test" for q in questions)
        questions.clear()  # a copy: the cache is not the caller's list
        assert questions_for(anchor, task)


@pytest.fixture(scope="module")
def kettle(scenarios):  # questions: 0.9 litres, 1200 watts, 60 minutes, $69.00, oak-effect; none in hours
    return next(a for a in scenarios.anchors("sales") if a.id == "oaken-pour-gooseneck-kettle")


def test_grounding_is_the_share_stated_less_one_per_wrong_figure(earbuds):
    questions = questions_for(earbuds, "sales")
    assert grounding(earbuds.text, questions, earbuds) == 1.0 and grounding("Great earbuds!", questions, earbuds) == 0.0
    battery = [q for q in questions if q.fact.startswith("spec:")]  # 8 hours, 30 hours, 5 grams
    assert grounding("8 hours of play, 30 hours with the case.", battery, earbuds) == pytest.approx(2 / 3)
    assert grounding("8 hours of play, 45 hours with the case.", battery, earbuds) == 0.0
    assert grounding("8 hours of play and 5 grams, 45 hours with the case.", battery, earbuds) == pytest.approx(1 / 3)
    assert grounding("anything", [], earbuds) == 0.0


def test_a_figure_invented_in_a_unit_no_question_asks_costs_a_fact(kettle):
    questions = questions_for(kettle, "sales")
    assert len(questions) == 5
    honest = "The Oaken Pour holds 0.9 litres and heats on 1200 watts."
    assert grounding(honest, questions, kettle) == pytest.approx(0.4)
    # the old grounding scored this 0.4 too: no question is in hours, so "45 hours" went unseen
    assert grounding(honest + " And 45 hours of battery, 45 hours!", questions, kettle) == pytest.approx(0.2)
    assert grounding("Holds 0.9 litres, and 45 hours of battery.", questions, kettle) == 0.0  # floored


def test_correct_figures_score_the_share_stated_and_list_numbers_are_no_figures(kettle):
    questions = questions_for(kettle, "sales")
    pitch = "1. Holds 0.9 litres\n2. Heats on 1200 watts\n3. Keeps warm for 60 minutes, all for $69."
    assert grounding(pitch, questions, kettle) == pytest.approx(0.8) and grounding(kettle.text, questions, kettle) == 1.0
    assert invented(pitch, kettle) == set() and invented("Warm for 2 days. Premise 2", kettle) == {2.0}


def test_a_wrong_figure_costs_a_fact_in_any_unit_and_as_a_price(earbuds):
    questions = questions_for(earbuds, "sales")  # 8 hours, 30 hours, 5 grams, $79.99
    assert grounding("8 hours of play, 30 hours with the case, only $79.99.", questions, earbuds) == pytest.approx(0.75)
    # the old grounding gave the wrong price no cost (0.5): a price has no unit to be contradicted in
    assert grounding("8 hours of play, 30 hours with the case, only $59.99.", questions, earbuds) == pytest.approx(0.25)
    assert grounding("8 hours of play, 30 hours with the case, 6 grams a bud.", questions, earbuds) == pytest.approx(0.25)
    # a figure the anchor states, given in another fact's unit (the old grounding: 0.5, no hour fact was unstated)
    assert grounding("8 hours of play, 30 hours with the case, 5 hours of calls.", questions, earbuds) == pytest.approx(0.25)
    assert misbound("5 hours of calls, 5 grams, 8 hours, 79.99 hours", questions, earbuds) == {("5", "hour"), ("79.99", "hour")}
