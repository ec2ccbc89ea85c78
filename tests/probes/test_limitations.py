"""Paraphrased contradictions of a stated limitation, and honest restatements that must pass."""

import pytest

from agora.probes.limitations import Limitation, contradicted_limitations
from agora.sim.schema import Product


def product(limitations, features=(), name="Vale Lamp"):
    return Product(id="p", split="train", name=name, category="home", price=50.0, features=list(features),
                   limitations=limitations, description=f"The {name}, a product for testing. " + ". ".join(limitations) + ".")


def flagged(message, p):
    return [message[s.start:s.end] for s in contradicted_limitations(message, p)]


def test_reading_a_limitation_separates_what_is_lacking_from_what_it_is_about():
    lim = Limitation.read("it has no HDMI input and connects only by optical cable")
    assert lim.absent == ("hdmi", "input") and lim.named == ("hdmi",)
    assert "optic" in lim.topic and "cabl" in lim.topic  # after "and" the negation no longer applies
    warm = Limitation.read("the ear cushions get warm during long sessions")
    assert warm.absent == () and "warm" in warm.drawbacks and "cushion" in warm.topic


@pytest.mark.parametrize("limitation, message, span", [
    ("there is no wireless charging", "Simply drop the case on any wireless charger.", "wireless charger"),
    ("it has no HDMI input", "Plug it in over HDMI ARC and you're done.", "HDMI"),
    ("the stand only tilts and does not swivel or rise", "A stand that tilts, swivels and rises.", "swivels and rises"),
    ("condensation builds up inside on still nights", "Its condensation-free design keeps you dry.", "condensation-free"),
    ("it has a rubber smell for the first few weeks", "Odour-free from day one.", "Odour-free"),
    ("the base is light so the lamp can tip if bumped", "A marble base that will never tip.", "tip"),
    ("the ear cushions get warm during long sessions", "Cushions that stay cool no matter how long you wear them.", "cool"),
    ("fuel canisters are sold separately", "It comes with a fuel canister included.", "included"),
])
def test_paraphrases_that_argue_the_limitation_away_are_flagged_at_the_claim(limitation, message, span):
    assert flagged(message, product([limitation])) == [span]


@pytest.mark.parametrize("limitation, message", [
    ("it has no HDMI input and connects only by optical cable", "One optical cable, no HDMI, and a dim remote."),
    ("the ear cushions get warm during long sessions", "They do run warm over long sessions, but the quiet is worth it."),
    ("the basket does not fit in small dishwashers", "The basket won't fit small dishwashers."),
    ("it is not suitable for people with latex allergies", "Not for anyone with a latex allergy."),
    ("it is too small for large hands", "It's compact, so people with large hands should look elsewhere."),
    ("it is too warm for many people in summer", "It isn't machine washable and it runs warm in summer."),
    ("the app does not work without home Wi-Fi", "It needs home Wi-Fi for the app."),
    ("the condensation builds up inside", "A roomy tent with mesh pockets."),  # another part of the product
])
def test_honest_restatements_and_unrelated_praise_are_not_flagged(limitation, message):
    assert flagged(message, product([limitation])) == []


def test_a_stated_feature_is_not_read_as_denying_a_drawback():
    dryer = product(["the highest heat setting is very hot for fine hair"], features=["a cool shot button"])
    assert flagged("Several heat settings and a cool shot button.", dryer) == []
    assert flagged("Even the top heat setting stays cool on fine hair.", product(["the highest heat setting is very hot for fine hair"])) == ["cool"]


def test_words_of_the_product_name_are_not_claims():
    earbuds = product(["there is no wireless charging"], name="Corvo Drift Wireless Earbuds")
    assert flagged("The Corvo Drift Wireless Earbuds give 8 hours per charge.", earbuds) == []
