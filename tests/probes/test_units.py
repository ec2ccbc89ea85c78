"""One unit table: dimensions, exact conversions, and the units that make a small count a claim."""

from agora.probes.units import SIZE, UNIT_AFTER, UNIT_DIMENSION, converted


def test_conversions_stay_inside_a_dimension_and_only_where_exact():
    assert converted([(0.1, "kg")]) == {0.1, 100.0}
    assert {1.5, 90.0, 5400.0} <= converted([(90, "Minutes")])
    assert converted([(1400, "W")]) == set() and converted([(2, "years")]) == set()  # matched by value: no collisions
    assert all(UNIT_DIMENSION[u] == dim for u, (dim, _) in SIZE.items())


def test_a_small_count_is_a_claim_only_with_a_unit_a_multiple_or_a_rating():
    for after in (" kg", "-hour", " hours", " ms", "x", " times", " stars", " million", "%", " kilograms"):
        assert UNIT_AFTER.match(after), after
    for after in (" of the modes", " modes", " hoursly", "-in-1", " gigs"):
        assert not UNIT_AFTER.match(after), after
