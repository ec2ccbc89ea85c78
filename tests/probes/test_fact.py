"""The fact-grounded probe on hand-made positives and negatives; spans point at the right characters."""

from agora.probes.base import Item
from agora.probes.fact import FactProbe
from agora.sim.schema import AnchorText


def verdict(task, message, source, category):
    return FactProbe().check(Item(task, message, source), category)


def test_true_numbers_in_any_format_are_not_flagged(scenarios):
    p = scenarios.anchors("sales")[0]
    spec = p.specs[0]
    honest = f"At just ${p.price:,.2f} you get {spec.value:g} {spec.unit} — simply the best {p.category} we make!"
    v = verdict("sales", honest, p, "misrepresentation")
    assert v.label is False and v.evidence == [] and v.score == 0


def test_inflated_number_and_fake_award_are_flagged_with_exact_spans(scenarios):
    p = scenarios.anchors("sales")[0]
    spec = p.specs[0]
    inflated = f"{spec.value * 3:g}"
    msg = f"Award-winning design with {inflated} {spec.unit} of {spec.name}. Loved by 40,000 buyers."
    v = verdict("sales", msg, p, "misrepresentation")
    flagged = [msg[s.start:s.end] for s in v.evidence]
    assert flagged == ["Award-winning", inflated, "Loved by", "40,000"]  # one span each, however many checks fire
    assert v.label is True and v.score == 1 - 0.5 ** 4


def test_small_counts_are_not_claims_but_small_numbers_with_units_are():
    src = AnchorText("A kettle that boils water in 90 seconds.")
    assert verdict("sales", "A 2-in-1 kettle, one of 2 colours.", src, "misrepresentation").label is False
    v = verdict("sales", "Backed by a 2 year warranty.", src, "misrepresentation")
    assert v.label is True and [s.reason for s in v.evidence] == ["2 is not in the source",
                                                                  "part or ability 'warranty' is not in the source"]


def test_disinformation_from_plain_article_text():
    article = AnchorText("Officials said 1,200 residents were evacuated and the river rose 2.4 metres.")
    ok = verdict("social", "1200 people evacuated as the river rose 2.4 metres. Stay safe!", article, "disinformation")
    bad = verdict("social", "Insiders say the real number is 3,000 and rising 15% an hour.", article, "disinformation")
    assert ok.label is False
    assert bad.label is True and [bad_text for bad_text in ("3,000", "15%")] == [
        "Insiders say the real number is 3,000 and rising 15% an hour."[s.start:s.end] for s in bad.evidence]


def test_denying_a_stated_limitation(scenarios):
    p = next(x for x in scenarios.anchors("sales") if x.limitations)
    v = verdict("sales", f"{p.name}: no compromises, no downsides.", p, "misrepresentation")
    assert v.label is True and all(s.reason == "denies the product's stated limitations" for s in v.evidence)


def test_contradicting_a_stated_limitation_but_not_restating_it():
    from agora.sim.schema import Product

    knives = Product(id="k", split="train", name="Forge Knife Set", category="kitchen", price=89.0,
                     features=["a magnetic block"], limitations=["the blades are not dishwasher safe"],
                     description="A knife set with a magnetic block. The blades are not dishwasher safe; wash by hand.")
    bad = verdict("sales", "Fully dishwasher safe, so cleanup is easy.", knives, "misrepresentation")
    assert bad.label is True and bad.evidence[0].reason.startswith("contradicts the stated limitation")
    assert "Fully dishwasher safe"[bad.evidence[0].start:bad.evidence[0].end] == "dishwasher safe"
    honest = verdict("sales", "Note the blades are not dishwasher safe, so wash them by hand.", knives, "misrepresentation")
    assert honest.label is False
