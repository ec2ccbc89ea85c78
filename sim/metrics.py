"""Headline numbers of a run, computed from its tables (the index and `agora show` print them)."""

from __future__ import annotations

import pandas as pd
from scipy.stats import binomtest

from agora.sim.audience.check import Thresholds
from agora.sim.facts import names_anchor, true_facts
from agora.sim.schema import Anchor, TaskSpec


def summarise(
    task: TaskSpec, messages: pd.DataFrame, judgments: pd.DataFrame, contests: pd.DataFrame, anchors: dict[str, Anchor]
) -> dict:
    """Win shares per competitor, abstentions, faithfulness of the messages and (a task whose messages spread)
    cascades."""
    if contests.empty:
        return {"contests": 0}
    names = list(contests["competitors"].iat[0])
    votes = pd.DataFrame(contests["votes"].tolist(), columns=names)
    # candidate validation; a run from before it has no such column, and every one of its contests was judged
    invalid = messages["invalid"] if "invalid" in messages else pd.Series(dtype=str)
    outcomes = contests["outcome"] if "outcome" in contests else pd.Series("judged", index=contests.index)
    grounded = [
        (names_anchor(t, anchors[a]), true_facts(t, anchors[a]) > 0) for t, a in zip(messages["text"], messages["anchor_id"])
    ]
    out = {
        "contests": int(len(contests)),
        "decided": int((contests["winner"] != "").sum()),
        "ties": int(((contests["winner"] == "") & (outcomes == "judged")).sum()),
        "judgments": int(len(judgments)),
        "abstentions": int((judgments["choice"] == "").sum()),
        "abstention_rate": round(float((judgments["choice"] == "").mean()), 4),
        "retried": int((judgments["parse_status"] == "retried").sum()),
        "win_share": {n: round(float((contests["winner"] == n).mean()), 4) for n in names},
        "vote_share": {n: round(float(votes[n].sum() / max(1, votes.values.sum())), 4) for n in names},
        "names_anchor": round(sum(g[0] for g in grounded) / len(grounded), 4),
        "true_fact": round(sum(g[1] for g in grounded) / len(grounded), 4),
        "names_and_true_fact": round(sum(g[0] and g[1] for g in grounded) / len(grounded), 4),
        "empty_messages": int((messages["text"].str.strip() == "").sum()),
        "invalid_messages": _counts(invalid[invalid != ""]),
        "outcomes": _counts(outcomes),
        "mean_words": round(float(messages["text"].str.split().str.len().mean()), 1),
    }
    out.update(audience_health(judgments))
    if task.spreads:
        likes = pd.DataFrame(contests["cascade_likes"].tolist(), columns=names)
        out["cascade_mean"] = round(float(likes.values.mean()), 2)
        out["cascade_max"] = int(likes.values.max())
        out["engagement_share"] = {n: round(float(likes[n].sum() / max(1, likes.values.sum())), 4) for n in names}
    return out


def audience_health(judgments: pd.DataFrame, t: Thresholds = Thresholds()) -> dict:
    """What a run's own ballots say about its audience, against the thresholds of `agora audience check`: the
    abstention rate; the share of votes for the first slot, which shuffled orders put near one half for an audience
    that reads (a binomial test, so a few votes raise no alarm); and, with orders: both, how often the two orders
    disagreed."""
    voted = judgments[judgments["vote"].isin(["A", "B"])] if "vote" in judgments else judgments.iloc[:0]
    first = int((voted["vote"] == "A").sum())
    share = first / len(voted) if len(voted) else None
    disagreements = int((judgments["parse_status"] == "order_disagreement").sum()) if len(judgments) else 0
    disagreed = disagreements / len(judgments) if len(judgments) else 0.0
    warnings = []
    abstained = float((judgments["choice"] == "").mean()) if len(judgments) else 0.0
    if abstained > 1 - t.doubtful_parse:
        warnings.append(f"the audience abstained on {abstained:.0%} of ballots (audience check: doubtful above "
                        f"{1 - t.doubtful_parse:.0%})")
    if share is not None and abs(2 * share - 1) > 1 - t.doubtful_order and binomtest(first, len(voted)).pvalue < 0.01:
        warnings.append(f"the first slot got {share:.0%} of {len(voted)} votes, in shuffled orders: the audience "
                        f"follows the slot (order consistency at most {1 - abs(2 * share - 1):.0%}; doubtful below "
                        f"{t.doubtful_order:.0%}); try --audience-orders both")
    if disagreed > 1 - t.doubtful_order:
        warnings.append(f"the two orders disagreed on {disagreed:.0%} of ballots (doubtful above {1 - t.doubtful_order:.0%})")
    return {"first_slot_share": round(share, 4) if share is not None else None,
            "order_disagreements": disagreements,
            "audience_warnings": warnings}


def _counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in values.value_counts().items()}
