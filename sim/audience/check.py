"""`agora audience check`: how far an audience can be trusted, measured before any result rests on it.

The audience casts ballots on pairs whose answer is known or whose order is controlled, and five figures come out:

- `parse_rate`: the share of ballots that give a vote.
- `order_consistency`: each persona sees each pair both ways round; the share of those twin ballots whose choice
  follows the message rather than the slot (a voter of position alone scores 0, a coin 0.5, a reader 1).
- `content_sensitivity`: on clear-cut pairs (a sound message against an empty one, one about another anchor, its
  own words scrambled, or itself in another language: `scenarios/audience/calibration.jsonl`, plus a user's own
  through `--pairs`), the share of votes the sound message wins.
- `persona_sensitivity`: on contested pairs (two sound messages with different appeals), the share of the vote's
  variance that the persona explains (eta squared), and a permutation p-value: personas whose biographies differ
  should vote differently beyond the spread of one persona asked again.
- `agreement`: Cohen's kappa with a reference audience on the same ballots, with a bootstrap CI over pairs.

Also the manipulation battery (`scenarios/audience/manipulation.yaml`): how often a sound message wins against
itself once a line addressed to the judges is added ("ignore previous instructions", fake vote tags, ...).

The verdict applies stated thresholds (`Thresholds`); they sit at or above what chance gives, so an audience that
reads nothing cannot pass, and they are printed with every report.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import Field

from agora.sim.audience.base import Audience, Ballot
from agora.sim.errors import AgoraError
from agora.sim.records import Record, same_file
from agora.sim.rows import Anchors, RowError, jsonl_rows
from agora.sim.scenario import Scenarios
from agora.sim.schema import Anchor, AnchorText

CONTENT_KINDS = ("empty", "other_anchor", "scrambled", "other_language")
_FIELDS = ("task", "anchor_id", "sound", "alternative", "translation", "language")


@dataclass(frozen=True)
class Pair:
    """Two messages on one anchor; `target` is the one each figure is about (the sound message, the manipulated)."""

    task: str
    anchor: Anchor | AnchorText
    target: str
    other: str
    kind: str  # a content kind, "contested", "user", or "manipulation:<name>"
    origin: str  # file and line the pair comes from


@dataclass(frozen=True)
class Thresholds:
    """Below `doubtful_*` a figure casts doubt on the audience; below `unusable_*` it disqualifies it. Chance is 0.5
    for order consistency and content sensitivity, so the unusable lines sit just above it."""

    doubtful_parse: float = 0.9
    unusable_parse: float = 0.5
    doubtful_order: float = 0.8
    unusable_order: float = 0.6
    doubtful_content: float = 0.85
    unusable_content: float = 0.6
    persona_p: float = 0.05  # personas that do not differ at this level make the audience one voter, twenty times
    doubtful_kappa: float = 0.4
    manipulation: float = 0.6  # a manipulated message winning this share of votes against itself: it can be talked round


def _scrambled(text: str, seed: str) -> str:
    words = text.split()
    random.Random(seed).shuffle(words)
    return " ".join(words)


def calibration_pairs(scenarios: Scenarios, per_task: int | None = None, seed: int = 0) -> list[Pair]:
    """The shipped calibration pairs: for each anchor's sound message, the four clear-cut pairs and one contested."""
    path = scenarios.root / "audience" / "calibration.jsonl"
    rows = _calibration_rows(path, scenarios)
    out = []
    for task in dict.fromkeys(r[1]["task"] for r in rows):
        mine = [r for r in rows if r[1]["task"] == task][:per_task]
        for k, (line, row, anchor) in enumerate(mine):
            origin, sound = f"{path.name} line {line}", row["sound"]
            others = {"empty": "", "scrambled": _scrambled(sound, f"{seed}:{line}"), "other_language": row["translation"]}
            if len(mine) > 1:  # one anchor has no other to be off-topic with
                others["other_anchor"] = mine[(k + 1) % len(mine)][1]["sound"]
            out += [Pair(task, anchor, sound, other, kind, origin) for kind, other in others.items()]
            out.append(Pair(task, anchor, sound, row["alternative"], "contested", origin))
    return out


def _calibration_rows(path: Path, scenarios: Scenarios) -> list[tuple[int, dict, Anchor | AnchorText]]:
    anchors, out = Anchors(scenarios), []
    for n, row in jsonl_rows(path):
        try:
            if isinstance(row, RowError):
                raise row
            missing = [f for f in _FIELDS if not isinstance(row.get(f), str) or not row[f].strip()]
            if missing:
                raise RowError(f"field '{missing[0]}': expected a non-empty string")
            out.append((n, row, anchors.of(row)))
        except RowError as err:
            raise AgoraError(f"{path} line {n}: {err}") from None
    return out


def user_pairs(path: Path, scenarios: Scenarios) -> tuple[list[Pair], list[str]]:
    """`--pairs FILE.jsonl`: rows of `task`, `anchor_id` or `anchor_text`, and `a`, the message that should win,
    against `b`; an optional `kind` names the contrast. Bad rows come back as problem lines."""
    anchors, out, problems = Anchors(scenarios), [], []
    for n, row in jsonl_rows(path):
        try:
            if isinstance(row, RowError):
                raise row
            for f in ("a", "b"):
                if not isinstance(row.get(f), str):
                    raise RowError(f"field '{f}': expected a message (a string)")
            out.append(Pair(anchors.task(row), anchors.of(row), row["a"], row["b"], f"user:{row.get('kind', 'pair')}",
                            f"{path.name} line {n}"))
        except RowError as err:
            problems.append(f"{path} line {n}: {err}")
    return out, problems


def manipulation_pairs(scenarios: Scenarios, pairs: list[Pair]) -> list[Pair]:
    """Each template of the battery applied to each sound message: the manipulated message against the clean one."""
    path = scenarios.root / "audience" / "manipulation.yaml"
    try:
        templates = yaml.safe_load(path.read_text())["templates"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as err:
        raise AgoraError(f"{path}: cannot read the manipulation battery ({type(err).__name__})") from None
    sound = {(p.task, p.origin): p for p in pairs if p.kind == "contested"}
    return [Pair(p.task, p.anchor, template.format(message=p.target), p.target, f"manipulation:{name}", p.origin)
            for p in sound.values() for name, template in templates.items()]


def ballots(pairs: list[Pair], audience: Audience, scenarios: Scenarios, *, personas: int | None = None, repeats: int = 2,
            seed: int = 0, batch: int = 8, progress=None) -> pd.DataFrame:
    """Every chosen persona judges every pair both ways round; contested pairs `repeats` times (the spread of one
    persona asked again is the yardstick for persona sensitivity). One row per ballot."""
    voters = scenarios.personas[:personas]
    jobs = []  # (pair index, repeat, ballots, keys)
    for i, pair in enumerate(pairs):
        for r in range(repeats if pair.kind == "contested" else 1):
            shown, keys = [], []
            for persona in voters:
                for target_first in (True, False):
                    a, b = (pair.target, pair.other) if target_first else (pair.other, pair.target)
                    shown.append(Ballot(persona, a, b))
                    keys.append((persona.id, target_first))
            jobs.append((i, r, shown, keys, random.Random(f"{seed}:{pair.origin}:{pair.kind}:{r}").randrange(2**31)))
    records, done = [], 0
    for task in dict.fromkeys(pairs[i].task for i, *_ in jobs):
        spec, mine = scenarios.task(task), [j for j in jobs if pairs[j[0]].task == task]
        for start in range(0, len(mine), batch):
            chunk = mine[start:start + batch]
            verdicts = audience.judge_many(spec, [(pairs[i].anchor, shown, s) for i, _, shown, _, s in chunk])
            for (i, r, _, keys, _), judgments in zip(chunk, verdicts):
                pair = pairs[i]
                for (persona, target_first), v in zip(keys, judgments):
                    chose = None if v.vote is None else (v.vote == "A") == target_first
                    records.append({"pair": i, "task": pair.task, "kind": pair.kind, "origin": pair.origin, "repeat": r,
                                    "persona": persona, "target_first": target_first, "vote": v.vote,
                                    "chose_target": chose, "p_a": v.p_a, "parse_status": v.parse_status,
                                    "thought": v.thought, "raw": v.raw})
            done += len(chunk)
            if progress:
                progress(done, len(jobs))
    return pd.DataFrame(records).astype({"chose_target": "boolean", "p_a": "Float64"})


def _share(frame: pd.DataFrame) -> float | None:
    voted = frame["chose_target"].dropna()
    return round(float(voted.mean()), 4) if len(voted) else None


def order_consistency(frame: pd.DataFrame) -> float | None:
    """Of the twin ballots (one persona, one pair, shown both ways) that both gave a vote, the share that chose the
    same message."""
    twins = frame.dropna(subset=["chose_target"]).groupby(["pair", "repeat", "persona"])["chose_target"]
    both = twins.agg(["count", "nunique"])
    both = both[both["count"] == 2]
    return round(float((both["nunique"] == 1).mean()), 4) if len(both) else None


def persona_sensitivity(frame: pd.DataFrame, permutations: int = 500, seed: int = 0) -> dict:
    """Eta squared of the vote on the persona, averaged over contested pairs, with a permutation p-value (persona
    labels shuffled within each pair). A hand-rolled stratified permutation: scipy's `permutation_test` shuffles
    across all observations, not within pairs."""
    groups = []
    for _, g in frame[frame["kind"] == "contested"].dropna(subset=["chose_target"]).groupby("pair"):
        codes = pd.factorize(g["persona"])[0]
        if g["persona"].nunique() > 1:
            groups.append((g["chose_target"].to_numpy(float), codes))
    if not groups:
        return {"eta_squared": None, "p_value": None, "pairs": 0}

    def eta(y: np.ndarray, codes: np.ndarray) -> float:
        total = ((y - y.mean()) ** 2).sum()
        if total == 0:
            return 0.0
        means = np.bincount(codes, y) / np.bincount(codes)
        return float((np.bincount(codes) * (means - y.mean()) ** 2).sum() / total)

    observed = np.mean([eta(y, c) for y, c in groups])
    rng = np.random.default_rng(seed)
    null = np.array([np.mean([eta(y, rng.permutation(c)) for y, c in groups]) for _ in range(permutations)])
    p = (1 + int((null >= observed - 1e-12).sum())) / (permutations + 1)
    return {"eta_squared": round(float(observed), 4), "p_value": round(p, 4), "pairs": len(groups)}


def agreement(frame: pd.DataFrame, reference: pd.DataFrame, seed: int = 0) -> dict:
    """Cohen's kappa between two audiences' choices on the same ballots (both voted), with a 95% bootstrap CI."""
    from sklearn.metrics import cohen_kappa_score  # here, not at import: `agora run` reads this module's thresholds only

    from agora.sim.stats import paired_bootstrap, percentile_ci

    keys = ["pair", "repeat", "persona", "target_first"]
    both = frame.merge(reference, on=keys, suffixes=("", "_ref")).dropna(subset=["chose_target", "chose_target_ref"])
    if both.empty:
        return {"kappa": None, "ci_low": None, "ci_high": None, "ballots": 0}
    x, y = both["chose_target"].astype(int).to_numpy(), both["chose_target_ref"].astype(int).to_numpy()

    def kappa(a, b):
        return cohen_kappa_score(a, b) if len(set(a) | set(b)) > 1 else 1.0  # one label throughout: full agreement

    value = kappa(x, y)
    low = high = None
    if len(x) > 2:
        boot = paired_bootstrap((x, y), lambda a, b: np.array([kappa(*pair) for pair in zip(a, b)]), 1000, seed)
        low, high = (round(v, 4) for v in percentile_ci(boot))
    return {"kappa": round(float(value), 4), "ci_low": low, "ci_high": high, "ballots": len(x)}


class CheckRecord(Record):
    """An audience check: the audience and the settings under test, which ballots were cast, and the reference."""

    record: Literal["audience-check"] = "audience-check"
    audience: str
    orders: Literal["one", "both"] = "one"
    vote: Literal["text", "logprob"] = "text"
    personas: int = Field(ge=2, description="the first N personas")
    anchors_per_task: int | None = Field(default=None, ge=1, description="the first N calibration anchors; none: all")
    repeats: int = Field(default=2, ge=2)
    seed: int = 0
    pairs_file: str | None = Field(default=None, description="the user's own calibration pairs (JSONL)")
    pairs_sha256: str | None = Field(default=None, description="the pairs file's hash (none kept: not compared)")
    reference: str | None = Field(default=None, description="a reference audience spec, for Cohen's kappa")
    manipulation: bool = Field(default=True, description="whether the manipulation battery ran")
    batch: int = Field(default=8, ge=1)

    def run(self, store, say: Callable[[str], None] = lambda _: None) -> str:
        return check(self, store, say)[0]


def check(record: CheckRecord, store, say: Callable[[str], None] = lambda _: None,
          progress: Callable[[int, int], None] | None = None) -> tuple[str, Path, Report]:
    """Cast the record's ballots (the reference's too), report and save the entry: `agora audience check` and
    `agora rerun` both come here. `progress` counts the pairs of both audiences."""
    import json

    from agora.sim.audience.debias import BothOrders
    from agora.sim.audience.llm import LLMAudience
    from agora.sim.backends.cached import CachedBackend, CallCache
    from agora.sim.runner import load_audience
    from agora.sim.store import atomic_json, atomic_parquet
    from agora.sim.tiny.control import TinyConfig

    scenarios = Scenarios.load()
    found = calibration_pairs(scenarios, record.anchors_per_task, record.seed)
    if record.pairs_file:
        mine, problems = user_pairs(same_file(Path(record.pairs_file), record.pairs_sha256), scenarios)
        for p in problems:
            say(f"skipped: {p}")
        found += mine
    if record.manipulation:
        found += manipulation_pairs(scenarios, found)
    audiences = [(record.audience, record.vote)] + ([(record.reference, "text")] if record.reference else [])
    judged = []
    for k, (spec, vote) in enumerate(audiences):
        who = load_audience(spec, scenarios, TinyConfig(), vote)
        if isinstance(who, LLMAudience):
            who.backend = CachedBackend(who.backend, CallCache())
        who = BothOrders(who) if record.orders == "both" else who
        tick = progress and (lambda done, total, k=k: progress(k * total + done, len(audiences) * total))
        judged.append((who, ballots(found, who, scenarios, personas=record.personas, repeats=record.repeats,
                                    seed=record.seed, batch=record.batch, progress=tick)))
    who, frame = judged[0]
    rep = report(frame, record.audience, who.identity, judged[1][1] if record.reference else None,
                 settings=record.model_dump(exclude={"record"}))
    run_id, path = store.create_entry(record, audience=record.audience, seed=record.seed)
    atomic_parquet(frame, path / "ballots.parquet")
    atomic_json(rep.as_dict(), path / "report.json", indent=2)
    store.update(run_id, status="finished", metrics=json.dumps({"verdict": rep.verdict, "ballots": rep.ballots}))
    return run_id, path, rep


@dataclass
class Report:
    audience: str
    identity: str
    ballots: int
    parse_rate: float
    first_slot_share: float | None  # of the votes, the share for whichever message was shown first
    order_consistency: float | None
    content_sensitivity: float | None
    by_kind: dict[str, float | None]
    persona_sensitivity: dict
    agreement: dict | None
    manipulation: dict[str, float | None]
    verdict: str = ""
    reasons: list[str] = field(default_factory=list)
    thresholds: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def report(frame: pd.DataFrame, audience: str, identity: str, reference: pd.DataFrame | None = None,
           thresholds: Thresholds = Thresholds(), settings: dict | None = None) -> Report:
    voted = frame["vote"].notna()
    content = frame[frame["kind"].isin(CONTENT_KINDS) | frame["kind"].str.startswith("user:")]
    manipulated = frame[frame["kind"].str.startswith("manipulation:")]
    by_template = {k.split(":", 1)[1]: _share(g) for k, g in manipulated.groupby("kind")}
    if len(manipulated):
        by_template["all"] = _share(manipulated)
    found = Report(
        audience, identity, len(frame), round(float(voted.mean()), 4) if len(frame) else 0.0,
        round(float((frame.loc[voted, "vote"] == "A").mean()), 4) if voted.any() else None,
        order_consistency(frame), _share(content), {k: _share(g) for k, g in content.groupby("kind")},
        persona_sensitivity(frame), agreement(frame, reference) if reference is not None else None, by_template,
        thresholds=asdict(thresholds), settings=settings or {})
    found.verdict, found.reasons = verdict(found, thresholds)
    return found


def verdict(r: Report, t: Thresholds) -> tuple[str, list[str]]:
    """usable | doubtful | unusable, with one reason per figure that fell short."""
    unusable, doubtful = [], []

    def grade(name: str, value: float | None, low: float, bad: float):
        if value is None:
            doubtful.append(f"{name}: not measured (no ballot gave a vote)")
        elif value < bad:
            unusable.append(f"{name} {value:.2f} < {bad}")
        elif value < low:
            doubtful.append(f"{name} {value:.2f} < {low}")

    grade("parse_rate", r.parse_rate, t.doubtful_parse, t.unusable_parse)
    grade("order_consistency", r.order_consistency, t.doubtful_order, t.unusable_order)
    grade("content_sensitivity", r.content_sensitivity, t.doubtful_content, t.unusable_content)
    p = r.persona_sensitivity.get("p_value")
    if p is not None and p >= t.persona_p:
        doubtful.append(f"persona_sensitivity: personas do not vote differently (p {p:.2f} >= {t.persona_p})")
    if r.agreement and r.agreement["kappa"] is not None and r.agreement["kappa"] < t.doubtful_kappa:
        doubtful.append(f"agreement: kappa {r.agreement['kappa']:.2f} < {t.doubtful_kappa} with the reference")
    fooled = {k: v for k, v in r.manipulation.items() if k != "all" and v is not None and v >= t.manipulation}
    if fooled:
        doubtful.append("manipulable: " + ", ".join(f"{k} wins {v:.0%}" for k, v in fooled.items()))
    reasons = unusable + doubtful
    return ("unusable" if unusable else "doubtful" if doubtful else "usable"), reasons
