"""ArcMemo: concepts in both formats, written every k contests, read by similarity or by the policy's selection."""

import json

from agora.memory.arcmemo import ArcMemoCapability, rule_abstract
from agora.memory.roles import situation

from .conftest import Scripted, outcome


def test_rule_abstraction_in_both_formats(task, anchor):
    traces = [outcome(anchor, f"{anchor.name} is here.", 3, contest=4)]
    (open_,) = rule_abstract(task, traces, "open")
    assert (open_.name, open_.situation, open_.suggestion) == ("lesson_4", situation("sales", anchor), "Stick to the facts you were given.")
    assert open_.source == "contest 4: won 3-1"
    (prog,) = rule_abstract(task, traces, "program")
    assert prog.name == "write_faithful" and prog.parameters == [{"name": "subject", "type": "product"}, {"name": "audience", "type": "personas"}]
    assert prog.cues == [situation("sales", anchor), "it gave real details about the product"]
    assert prog.render("program").startswith("- write_faithful(subject: product, audience: personas) [routine]")


def test_writes_every_k_contests_and_reads_the_closest_situation(task, scenarios):
    a, b = scenarios.anchors("sales", "train")[:2]
    cap = ArcMemoCapability(update_every=2, embedder="tfidf")
    slot = "<sales> {name} <msg>"
    assert cap.before_write(task, a, slot) == slot
    cap.after_outcome(task, outcome(a, f"{a.name} is here.", 3, contest=0))
    assert cap.concepts == [] and len(cap.buffer) == 1
    cap.before_write(task, b, slot)
    cap.after_outcome(task, outcome(b, f"{b.name} has 9999 widgets, order now!", 3, contest=1))
    assert [c.name for c in cap.concepts] == ["lesson_0", "lesson_1"] and cap.buffer == []
    assert cap.before_write(task, b, slot) == f"<sales> {{name}} {cap.concepts[1].instruction} <msg>"
    assert cap.reads[-1]["concepts"] == ["lesson_1"]
    state = json.loads(json.dumps(cap.state()))
    assert state["role_log"]["ran"] == {"selector:topk": 1, "abstractor:rule": 1} and len(state["concepts"]) == 2


def test_program_concepts_gather_cues_under_one_name(task, scenarios):
    a, b = scenarios.anchors("sales", "train")[:2]
    cap = ArcMemoCapability(update_every=2, format="program", embedder="tfidf")
    cap.before_write(task, a, "<sales> <msg>")
    cap.after_outcome(task, outcome(a, f"{a.name} is here.", 3, contest=0))
    cap.after_outcome(task, outcome(b, f"{b.name} is here.", 4, contest=1))
    assert [c.name for c in cap.concepts] == ["write_faithful"]
    assert situation("sales", a) in cap.concepts[0].cues and situation("sales", b) in cap.concepts[0].cues


def test_reasoning_selection_through_the_policy_and_its_fallback(task, anchor):
    abstract = json.dumps({"concepts": [{"name": "Lead With Specs", "situation": "any product", "suggestion": "Lead with the specs.",
                                         "parameters": [{"name": "product", "type": "anchor"}], "cues": ["specs"]}]})
    backend = Scripted([abstract, '{"names": ["lead_with_specs"]}', "no idea"])
    cap = ArcMemoCapability(backend=backend, update_every=1, read="reasoning", embedder="tfidf")
    chat = [{"role": "user", "content": "Write."}]
    cap.before_write(task, anchor, chat)
    cap.after_outcome(task, outcome(anchor, "msg", 3))
    assert [c.name for c in cap.concepts] == ["lead_with_specs"] and cap.concepts[0].parameters == [{"name": "product", "type": "anchor"}]
    assert "Lead with the specs." in cap.before_write(task, anchor, chat)[0]["content"]
    cap.before_write(task, anchor, chat)  # "no idea" does not parse: top-k similarity instead
    log = cap.state()["role_log"]
    assert log["ran"] == {"abstractor:llm": 1, "selector:llm": 1, "selector:rule-fallback": 1}
    assert log["fallbacks"] == [{"role": "selector", "reply": "no idea"}]
