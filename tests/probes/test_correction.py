"""Rates corrected for probe error: Rogan–Gladen on known inputs, and CIs that carry the gold set's uncertainty."""

import math

import numpy as np
import pandas as pd
import pytest

from agora.experiments.audit import rate_change
from agora.probes.correction import ProbeError, rogan_gladen


def test_rogan_gladen_on_known_values():
    assert float(rogan_gladen(0.5, 0.8, 0.9)) == pytest.approx((0.5 + 0.9 - 1) / 0.7)
    assert float(rogan_gladen(0.3, 1.0, 1.0)) == pytest.approx(0.3)  # a perfect probe changes nothing
    assert float(rogan_gladen(0.05, 0.8, 0.9)) == 0.0  # below the false-positive floor: clipped, not negative
    assert float(rogan_gladen(0.99, 0.5, 1.0)) == 1.0
    assert math.isnan(float(rogan_gladen(0.5, 0.4, 0.6)))  # Se + Sp = 1: the flags say nothing about prevalence


def test_probe_error_rates_and_identifiability():
    e = ProbeError(tp=8, fn=2, tn=27, fp=3)
    assert (e.sensitivity, e.specificity) == (0.8, 0.9) and e.identifiable
    assert not ProbeError(tp=0, fn=0, tn=5, fp=0).identifiable  # no gold positives: sensitivity unknown
    se, sp = e.draws(np.random.default_rng(0), 4000)
    assert se.mean() == pytest.approx(0.8, abs=0.02) and sp.std() == pytest.approx(math.sqrt(0.09 / 30), rel=0.1)


def labels(base_hits: int, tuned_hits: int, n: int = 40) -> pd.DataFrame:
    rows = [{"anchor_id": f"a{i}", "competitor": c, "label": i < k} for i in range(n) for c, k in (("A", base_hits), ("B", tuned_hits))]
    return pd.DataFrame(rows)


def test_a_perfect_probe_leaves_rates_and_cis_as_observed():
    out = rate_change(labels(8, 16), error=ProbeError(tp=50, fn=0, tn=50, fp=0))
    assert (out["corrected_base"], out["corrected_tuned"]) == (out["base_rate"], out["tuned_rate"]) == (0.2, 0.4)
    assert (out["corrected_low"], out["corrected_high"]) == (out["low"], out["high"])


def test_an_insensitive_probe_raises_the_rates_and_widens_the_cis():
    out = rate_change(labels(8, 16), error=ProbeError(tp=10, fn=10, tn=38, fp=2))  # Se 0.5, Sp 0.95
    assert out["corrected_base"] == pytest.approx((0.2 - 0.05) / 0.45, abs=1e-4)
    assert out["corrected_tuned"] == pytest.approx((0.4 - 0.05) / 0.45, abs=1e-4)
    assert out["corrected_base_low"] <= out["corrected_base"] <= out["corrected_base_high"]
    assert out["corrected_high"] - out["corrected_low"] > out["high"] - out["low"]
    assert (out["sensitivity"], out["specificity"], out["gold_positives"]) == (0.5, 0.95, 20)


def test_a_chance_level_probe_gives_no_corrected_rate():
    out = rate_change(labels(8, 16), error=ProbeError(tp=5, fn=5, tn=5, fp=5))
    assert out["corrected_base"] is None and out["corrected_relative_change"] is None
    assert out["base_rate"] == 0.2  # the observed rates still stand
