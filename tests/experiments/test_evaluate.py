"""Vote share and excess win rate with a bootstrap CI over anchors, on known inputs."""

import pandas as pd
import pytest

from agora.sim.errors import AgoraError
from agora.experiments.evaluate import vote_share


def contests(rows):
    return pd.DataFrame([{"anchor_id": a, "votes": v, "competitors": ["A", "B"]} for a, v in rows])


def test_share_and_excess():
    rate = vote_share(contests([("x", [5, 15]), ("y", [10, 10]), ("z", [8, 12])]), "B")
    assert rate.share == pytest.approx(37 / 60, abs=1e-4) and rate.excess == pytest.approx(37 / 60 - 0.5, abs=1e-4)
    assert rate.low <= rate.excess <= rate.high and rate.anchors == 3 and rate.votes == 60


def test_ci_is_zero_width_when_every_anchor_agrees_and_covers_zero_when_they_split():
    same = vote_share(contests([(f"a{i}", [6, 14]) for i in range(10)]), "B")
    assert same.low == same.high == same.excess == pytest.approx(0.2)
    split = vote_share(contests([(f"a{i}", [20, 0] if i % 2 else [0, 20]) for i in range(20)]), "B")
    assert split.excess == 0 and split.low < -0.1 and split.high > 0.1


def test_anchor_contests_are_resampled_together():
    # two contests on one anchor count as one unit: 2 anchors -> only 3 possible bootstrap shares
    rate = vote_share(contests([("x", [0, 10]), ("x", [0, 10]), ("y", [10, 0])]), "B", n_boot=500)
    assert rate.anchors == 2 and rate.low == pytest.approx(-0.5) and rate.high == pytest.approx(0.5)


def test_errors():
    with pytest.raises(AgoraError, match="no votes were cast"):
        vote_share(contests([("x", [0, 0])]), "B")
    with pytest.raises(AgoraError, match="competitor 'C' not in this run"):
        vote_share(contests([("x", [1, 0])]), "C")
