"""Every interval Agora reports, in one place, so that each table's CI means the same thing.

- `wilson`: a proportion k/n (sound at 0 and n, where the normal approximation gives a zero-width interval).
- `t_interval`: a mean over few independent repeats (seeds), where the spread itself is uncertain.
- `paired_bootstrap` + `percentile_ci`: a statistic of clustered data. Contests on the same anchor share whatever
  makes that anchor easy or hard, so the anchor is the unit resampled, and every column is resampled with the same
  draw (paired), so a base and a tuned rate keep their anchors together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of k successes in n trials (n > 0)."""
    ci = stats.binomtest(k, n).proportion_ci(confidence, method="wilson")
    return float(ci.low), float(ci.high)


def t_interval(x: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """The mean of `x` and its Student-t interval; the bounds are NaN for one value, whose spread is unknown."""
    x = np.asarray(x, dtype=float)
    if not len(x):
        raise ValueError("t_interval: no values")
    mean = float(x.mean())
    if len(x) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf((1 + confidence) / 2, len(x) - 1) * stats.sem(x))
    return mean, mean - half, mean + half


def paired_bootstrap(columns: Sequence[np.ndarray], statistic: Callable, n_boot: int = 2000,
                     rng: np.random.Generator | int = 0):
    """`statistic` over `n_boot` resamples of the units (rows of the columns), drawn with replacement.

    Each column arrives resampled as an (n_boot, units) array, the same draw for all of them; `statistic` reduces
    over axis 1 and returns one replicate per resample (or a tuple of such arrays). `rng` is a seed or a generator
    that the caller goes on drawing from (the probe-error draws of an audit follow the anchors')."""
    columns = [np.asarray(c) for c in columns]
    units = len(columns[0]) if columns else 0
    if units == 0:
        raise ValueError("paired_bootstrap: no units to resample")
    if any(len(c) != units for c in columns):
        raise ValueError("paired_bootstrap: the columns must hold the same units")
    idx = np.random.default_rng(rng).integers(0, units, size=(n_boot, units))
    return statistic(*(c[idx] for c in columns))


def percentile_ci(replicates: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The percentile interval of bootstrap replicates (scipy's `method="percentile"`)."""
    replicates = np.asarray(replicates, dtype=float)
    if not replicates.size:
        raise ValueError("percentile_ci: no replicates")
    half = 50 * confidence  # in percent, so that 0.95 gives exactly the 2.5th and 97.5th percentiles
    low, high = np.percentile(replicates, [50 - half, 50 + half])
    return float(low), float(high)
