"""Head-to-head evaluation on held-out anchors: the tuned model's vote share and excess win rate.

Excess win rate = share of votes won - 0.5 (the study's measure). Its 95 % CI comes from a
bootstrap over anchors: contests on the same anchor are resampled together, since they share
whatever makes that anchor easy or hard.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from agora.sim.config import RunConfig
from agora.sim.errors import AgoraError
from agora.sim.runner import start_run
from agora.sim.scenario import Scenarios
from agora.sim.stats import paired_bootstrap, percentile_ci
from agora.sim.store import Run, RunStore


@dataclass(frozen=True)
class WinRate:
    share: float  # share of votes won by the model under test
    excess: float  # share - 0.5
    low: float  # 95 % CI of the excess
    high: float
    anchors: int
    votes: int
    forfeits_won: int = 0  # contests the other side forfeited with an invalid message: no votes, so not in `share`
    forfeits_lost: int = 0
    void: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def vote_share(contests: pd.DataFrame, name: str, n_boot: int = 2000, seed: int = 0) -> WinRate:
    """`name`'s share of all votes cast, with a bootstrap CI over anchors; forfeits and voids are counted apart."""
    if contests.empty:
        raise AgoraError("no contests to evaluate")
    names = list(contests["competitors"].iat[0])
    if name not in names:
        raise AgoraError(f"competitor {name!r} not in this run ({', '.join(names)})")
    i = names.index(name)
    per_anchor = pd.DataFrame(
        {"anchor_id": contests["anchor_id"], "won": [v[i] for v in contests["votes"]], "cast": [sum(v) for v in contests["votes"]]}
    ).groupby("anchor_id")[["won", "cast"]].sum()
    won, cast = per_anchor["won"].to_numpy(float), per_anchor["cast"].to_numpy(float)
    how = contests["outcome"] if "outcome" in contests else pd.Series("judged", index=contests.index)  # older runs
    if cast.sum() == 0:
        unjudged = {k: int(v) for k, v in how.value_counts().items() if k != "judged"}
        raise AgoraError("no votes were cast: " + (", ".join(f"{v} contests {k}" for k, v in unjudged.items())
                         + " for an invalid candidate (see the messages table's invalid column)" if unjudged
                         else "every judgment abstained"))
    share = won.sum() / cast.sum()
    low, high = percentile_ci(paired_bootstrap((won, cast), lambda w, c: w.sum(1) / np.maximum(c.sum(1), 1), n_boot, seed))
    forfeit = contests[how == "forfeit"]
    won_forfeits = int((forfeit["winner"] == name).sum()) if len(forfeit) else 0
    return WinRate(round(share, 4), round(share - 0.5, 4), round(low - 0.5, 4), round(high - 0.5, 4), len(won), int(cast.sum()),
                   won_forfeits, len(forfeit) - won_forfeits, int((how == "void").sum()))


def head_to_head(base: str, tuned: str, task: str, store: RunStore, *, contests: int | None = None, seed: int = 0,
                 split: str = "test", audience: str = "parametric", tiny: dict | None = None,
                 prompt: str | None = None, batch_contests: int = 1, invalid: str = "forfeit") -> tuple[Run, WinRate]:
    """Contests of `base` (competitor A) against `tuned` (competitor B, given `prompt` if any) on `split` anchors;
    B's win rate."""
    n = contests or len(Scenarios.load().anchors(task, split))
    cfg = RunConfig(task=task, contests=n, seed=seed, split=split, policy=base, opponent=tuned, audience=audience,
                    tiny=tiny or {}, instructions={"B": prompt} if prompt else {}, batch_contests=batch_contests,
                    invalid=invalid)
    run = start_run(cfg, store)
    return run, vote_share(run.table("contests"), "B", seed=seed)
