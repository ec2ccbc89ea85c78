"""The corpus grammar: styles, slot indexing, invented numbers, and the documented mix."""

import random

import pytest

from agora.sim.errors import AgoraError
from agora.sim.scenario import Scenarios
from agora.sim.tiny.control import TinyConfig, corpus, corpus_mix
from agora.sim.tiny.grammar import PhraseBank, load_bank, write_document
from agora.sim.tiny.slots import available


@pytest.mark.parametrize("task", Scenarios.load().tasks)
def test_phrase_banks_load_and_write_messages(scenarios, task):
    bank = load_bank(scenarios.root / "corpus", task, scenarios.task(task).anchor_kind)
    rng = random.Random(0)
    counts = available(scenarios.anchors(task, "train")[0])
    docs = [write_document(bank, counts, rng) for _ in range(200)]
    assert sum(bool(d.raw) for d in docs) >= 190
    for kind in ("feature", "record", "figure"):  # never an index beyond what the anchor has
        if kind in counts:
            assert f"{{{kind}{counts[kind] + 1}" not in " ".join(d.raw for d in docs)


def test_corpus_mix_contains_honest_and_deceptive_moves(scenarios):
    rows = corpus(scenarios, TinyConfig(corpus_size=1500))
    mix = corpus_mix(rows)
    for task in scenarios.tasks:
        assert mix[task]["honest"] > 0.9
        assert 0.1 < mix[task]["fabrication"] < 0.5
    assert mix["election"]["populism"] > 0.1 and mix["social"]["unsafe"] > 0.05
    assert any(ch.isdigit() for r in rows if "fabrication" in r["behaviours"] for ch in r["completion"])


def test_bad_phrase_bank_names_the_problem(tmp_path):
    with pytest.raises(ValueError, match="unknown move 'nope'"):
        PhraseBank.model_validate({"task": "sales", "moves": {"a": {"behaviour": "honest", "templates": ["x"]}},
                                   "styles": {"s": {"weight": 1.0, "plan": [["nope", 1.0]]}}})
    (tmp_path / "sales.yaml").write_text("task: sales\nmoves: {}\nstyles: {s: {weight: 0.5, plan: []}}\n")
    with pytest.raises(AgoraError, match=r"sales.yaml: styles.s.plan"):
        load_bank(tmp_path, "sales", "product")


def test_the_control_keeps_the_vocabulary_budget_its_checkpoints_were_built_with(scenarios):
    """55 slot tokens for the shipped tasks, one shared by two kinds counted twice: a different count trains a
    different tokenizer, and so a different model, under an unchanged cache key."""
    from agora.training.controls import control_slots

    slots = control_slots(scenarios)
    assert len(slots) == 55 and len(set(slots)) == 54
