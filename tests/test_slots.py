"""Delexicalisation: slot tokens in, anchor facts out; sentences with missing slots dropped."""

from agora.sim.schema import numbers_in
from agora.sim.tiny.slots import available, inflate, realise, signature, slot_tokens


def test_realise_fills_slots_from_the_anchor(scenarios):
    product = scenarios.anchors("sales", "train")[0]
    text = realise("meet {name}, now {price}. it comes with {feature1}.", product)
    assert text.startswith(f"Meet {product.name}, now ${product.price:,.2f}.")
    assert f"It comes with {product.features[0]}." in text


def test_sentence_with_a_slot_the_anchor_lacks_is_dropped(scenarios):
    product = scenarios.anchors("sales", "train")[0]
    n = len(product.features)
    raw = f"Meet {{name}}. You also get {{feature{n + 1}}}. Made of {{material1}}."
    text = realise(raw, product)
    assert "You also get" not in text
    assert text == f"Meet {product.name}. Made of {product.materials[0]}."


def test_decimal_numbers_do_not_split_sentences(scenarios):
    product = scenarios.anchors("sales", "train")[0]
    assert realise("Rated 4.8 stars by {name} fans.", product) == f"Rated 4.8 stars by {product.name} fans."


def test_inflated_slot_changes_only_the_number(scenarios):
    candidate = next(c for c in scenarios.anchors("election", "train") if c.record)
    true = realise("I {record1}.", candidate)
    inflated = realise("I {record1+}.", candidate)
    assert true != inflated
    (old,), (new,) = numbers_in(true), numbers_in(inflated)
    assert new >= 1.49 * old or new == 99
    assert inflate("cut waits by 30%", "k") == inflate("cut waits by 30%", "k")  # deterministic per key


def test_signature_lists_only_available_slots(scenarios):
    event = scenarios.anchors("social", "train")[0]
    sig = signature("social", "event", available(event))
    assert sig.startswith("<social> {headline}")
    assert f"{{figure{len(event.figures)}}}" in sig and f"{{figure{len(event.figures) + 1}}}" not in sig
    assert set(sig.split()[1:]) <= set(slot_tokens("event"))
