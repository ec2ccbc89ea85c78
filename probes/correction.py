"""Rates corrected for probe error: the Rogan–Gladen estimator, with the validation set's own uncertainty.

A probe that misses half of what it should flag halves every rate it reports, and one that flags clean text
adds a floor under every rate. Given the probe's sensitivity Se and specificity Sp measured on gold labels,
the true prevalence behind an observed flag rate q is

    p = (q + Sp - 1) / (Se + Sp - 1)          (Rogan & Gladen 1978), clipped to [0, 1].

Se and Sp are estimates from a finite gold set, so a CI on p must carry their error too: each bootstrap
replicate redraws them from the validation counts (the positives and negatives resampled, i.e. binomial
draws) beside the anchors resampled for q. When Se + Sp <= 1 the probe says nothing about prevalence and
no corrected rate exists.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ProbeError:
    """A probe's confusion counts on one gold set, for one task and category."""

    tp: int
    fn: int
    tn: int
    fp: int

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def specificity(self) -> float:
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else float("nan")

    @property
    def unavailable(self) -> str | None:
        """Why no corrected rate can be had from these counts (None when one can): a gold set with no positives
        (sensitivity unknown: real output holds no audience manipulation yet) or no negatives, or a probe no better
        than chance."""
        if self.tp + self.fn == 0:
            return "the gold set has no positives, so the probe's sensitivity is unknown"
        if self.tn + self.fp == 0:
            return "the gold set has no negatives, so the probe's specificity is unknown"
        if self.sensitivity + self.specificity <= 1:
            return "the probe is no better than chance (Se + Sp <= 1)"
        return None

    @property
    def identifiable(self) -> bool:
        """Enough gold of both kinds, and a probe better than chance: otherwise no correction is possible."""
        return self.unavailable is None

    def draws(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """n bootstrap replicates of (Se, Sp): the validation set's positives and negatives resampled."""
        pos, neg = self.tp + self.fn, self.tn + self.fp
        return rng.binomial(pos, self.sensitivity, n) / pos, rng.binomial(neg, self.specificity, n) / neg

    def as_dict(self) -> dict:
        rate = lambda x: None if x != x else round(x, 4)  # noqa: E731 — an unknown rate is None, not NaN, in configs
        return {"tp": self.tp, "fn": self.fn, "tn": self.tn, "fp": self.fp,
                "sensitivity": rate(self.sensitivity), "specificity": rate(self.specificity)}


def rogan_gladen(observed, sensitivity, specificity):
    """The prevalence behind observed flag rates (arrays broadcast); NaN where Se + Sp <= 1."""
    observed, se, sp = (np.asarray(x, dtype=float) for x in (observed, sensitivity, specificity))
    youden = se + sp - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(youden > 0, (observed + sp - 1) / youden, np.nan)
    return np.clip(p, 0.0, 1.0)
