"""ACE: delta operations merged by plain code, grow-and-refine, the capability's update loop, the LLM path, offline."""

import json

from agora.memory.ace import ACECapability, Playbook, offline, rule_curate
from agora.memory.embeddings import TfidfEmbedder
from agora.memory.roles import rule_reflect
from agora.sim.backends.hf import HFBackend

from .conftest import Scripted, outcome


def test_delta_operations_are_merged_deterministically():
    pb = Playbook()
    rejected = pb.apply([{"type": "ADD", "section": "strategies", "content": "Be honest."},
                         {"type": "ADD", "section": "pitfalls", "content": "Hype loses."},
                         {"type": "ADD", "section": "strategies", "content": "Be honest, always."}])
    assert not rejected and [b.id for b in pb.bullets] == ["strategies-00001", "pitfalls-00002", "strategies-00003"]
    pb.tag({"strategies-00001": "helpful", "strategies-00003": "helpful", "pitfalls-00002": "harmful"})
    pb.bullets[2].harmful = 2
    rejected = pb.apply([{"type": "UPDATE", "id": "pitfalls-00002", "content": "Hype loses with sceptics."},
                         {"type": "MERGE", "ids": ["strategies-00003", "strategies-00001"], "content": "Be honest, always."},
                         {"type": "DELETE", "id": "nope-00009"}, {"type": "REWRITE"}])
    assert [r["why"][:20] for r in rejected] == ["unknown bullet id(s)", "unknown type 'REWRIT"]
    assert pb.render() == ("## strategies\n[strategies-00001] helpful=2 harmful=2 :: Be honest, always.\n\n"
                           "## pitfalls\n[pitfalls-00002] helpful=0 harmful=1 :: Hype loses with sceptics.")
    pb.apply([{"type": "DELETE", "id": "pitfalls-00002"}])
    assert [b.id for b in pb.bullets] == ["strategies-00001"] and pb.next_id == 4


def test_grow_and_refine_merges_duplicates_and_keeps_the_budget():
    pb = Playbook()
    for text in ["Stick to the facts you were given. Voters said: real details.",
                 "Be provocative. Voters said: daring.",
                 "Stick to the facts you were given. Voters said: real details matter."]:
        pb.add("strategies", text)
    pb.bullets[0].helpful, pb.bullets[2].helpful, pb.bullets[2].harmful = 1, 2, 1
    ops = pb.dedup_ops(TfidfEmbedder(), 0.7)
    assert ops == [{"type": "MERGE", "ids": ["strategies-00001", "strategies-00003"]}]
    pb.apply(ops)
    assert [(b.id, b.helpful, b.harmful) for b in pb.bullets] == [("strategies-00001", 3, 1), ("strategies-00002", 0, 0)]
    assert pb.trim_ops(17) == [{"type": "DELETE", "id": "strategies-00002"}]  # the lower score goes first
    assert pb.trim_ops(1000) == []


def test_rule_reflector_tags_used_bullets_by_outcome(anchor):
    won = rule_reflect("sales", outcome(anchor, f"{anchor.name} is here.", 3), ["strategies-00001"])
    assert won.tags == {"strategies-00001": "helpful"} and won.strategy == "faithful"
    assert won.key_insight == "Stick to the facts you were given. Voters said: it gave real details about the product."
    lost = rule_reflect("sales", outcome(anchor, f"{anchor.name} is here.", 1), ["strategies-00001"])
    assert lost.tags == {"strategies-00001": "harmful"} and lost.error == "lost 1-3" and lost.root_cause == "it was all hype"
    assert rule_reflect("sales", outcome(anchor, "x", 2), ["a"]).tags == {"a": "neutral"}


def test_capability_learns_shows_the_best_bullet_and_freezes(task, anchor):
    cap = ACECapability(embedder="tfidf")
    slot = "<sales> {name} {feature1} <msg>"
    assert cap.before_write(task, anchor, slot) == slot  # nothing learned yet
    cap.after_outcome(task, outcome(anchor, f"{anchor.name} is here.", 3, contest=0))
    assert [(b.section, b.strategy) for b in cap.playbook.bullets] == [("strategies", "faithful")]
    assert cap.before_write(task, anchor, slot) == "<sales> {name} {feature1} Stick to the facts you were given. <msg>"
    cap.after_outcome(task, outcome(anchor, f"{anchor.name} is here.", 4, contest=1))
    assert cap.playbook.bullets[0].helpful == 1
    cap.frozen = True
    cap.after_outcome(task, outcome(anchor, f"{anchor.name} is here.", 0, contest=2))
    assert cap.playbook.bullets[0].harmful == 0 and len(cap.history) == 3
    state = json.loads(json.dumps(cap.state()))
    assert state["embedder"] == "tfidf" and state["roles"] == "rule" and state["role_log"]["ran"] == {"reflector:rule": 2, "curator:rule": 2}
    chat = [{"role": "user", "content": "Write."}]
    assert "[strategies-00001] helpful=1 harmful=0" in cap.before_write(task, anchor, chat)[0]["content"]


def test_rule_curator_deletes_bullets_that_keep_losing(anchor):
    pb = Playbook()
    pb.add("strategies", "Be provocative.")
    pb.bullets[0].harmful = 3
    r = rule_reflect("sales", outcome(anchor, "x", 3), [])
    assert [o["type"] for o in rule_curate(pb, r, 3)] == ["ADD", "DELETE"]


def test_monolithic_rewrite_collapses_the_playbook(task, anchor):
    delta, mono = ACECapability(embedder="tfidf", dedup=False), ACECapability(embedder="tfidf", mode="monolithic")
    messages = [f"{anchor.name} is here.", f"{anchor.name} is here. Order now, it is amazing!"]
    for i in range(8):
        for cap in (delta, mono):
            cap.before_write(task, anchor, "<sales> <msg>")
            cap.after_outcome(task, outcome(anchor, messages[i % 2], 1 + i % 3, contest=i))
    assert len(delta.playbook.bullets) >= 3 and len(mono.playbook.bullets) < len(delta.playbook.bullets)
    assert all(b.helpful == b.harmful == 0 for b in mono.playbook.bullets)  # counters do not survive a rewrite


def test_llm_path_parses_operations_and_applies_update_merge_delete(task, anchor):
    reflection = json.dumps({"error": "", "root_cause": "r", "correct_approach": "c", "key_insight": "Use real numbers.",
                             "bullet_tags": [{"id": "strategies-00001", "tag": "helpful"}]})
    curation = json.dumps({"operations": [
        {"type": "UPDATE", "id": "strategies-00001", "content": "Lead with the real specs."},
        {"type": "MERGE", "ids": ["strategies-00001", "strategies-00002"], "content": "Lead with the real specs."},
        {"type": "DELETE", "id": "pitfalls-00003"}, {"type": "ADD", "section": "strategies", "content": "Use real numbers."}]})
    backend = Scripted([f"Sure: {reflection}", reflection, "```json\n" + curation + "\n```"])
    cap = ACECapability(backend=backend, embedder="tfidf", reflect_rounds=3)
    for section, text in (("strategies", "Be specific."), ("strategies", "Give numbers."), ("pitfalls", "Hype loses.")):
        cap.playbook.add(section, text)
    chat = [{"role": "user", "content": "Write."}]
    cap.before_write(task, anchor, chat)
    cap.after_outcome(task, outcome(anchor, "msg", 3))
    assert [(b.id, b.content, b.helpful) for b in cap.playbook.bullets] == [
        ("strategies-00001", "Lead with the real specs.", 1), ("strategies-00004", "Use real numbers.", 0)]
    assert cap.state()["role_log"]["ran"] == {"reflector:llm": 1, "curator:llm": 1}
    assert len(backend.prompts) == 3  # the second reflection round repeated the insight: refinement stopped there


def test_unparseable_llm_replies_fall_back_to_the_rule_roles(task, anchor, chat_checkpoint):
    cap = ACECapability(backend=HFBackend(chat_checkpoint), embedder="tfidf", reflect_rounds=1, role_tokens=48)
    cap.before_write(task, anchor, [{"role": "user", "content": "Write."}])
    cap.after_outcome(task, outcome(anchor, f"{anchor.name} is here.", 3))
    log = cap.state()["role_log"]
    assert log["ran"] == {"reflector:rule-fallback": 1, "curator:rule-fallback": 1}
    assert [f["role"] for f in log["fallbacks"]] == ["reflector", "curator"]
    assert cap.playbook.bullets[0].content.startswith("Stick to the facts you were given.")


def test_offline_keeps_the_best_playbook_by_validation():
    cap = ACECapability(embedder="tfidf")
    scores = iter([0.4, 0.6, 0.5])

    def train_epoch():
        cap.playbook.add("strategies", f"lesson {len(cap.playbook.bullets)}")

    rows = offline(cap, train_epoch, lambda: next(scores), epochs=2)
    assert [(r["epoch"], r["bullets"], r["score"]) for r in rows] == [(0, 0, 0.4), (1, 1, 0.6), (2, 2, 0.5)]
    assert [b.content for b in cap.playbook.bullets] == ["lesson 0"] and not cap.frozen
