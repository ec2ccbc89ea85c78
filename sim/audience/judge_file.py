"""`agora judge FILE.jsonl`: an audience judges messages written anywhere, with the study's protocol.

Each row: `task`, `anchor_id` (a scenario anchor) or `anchor_text` (a plain description, biography or article), and
two messages `a` and `b`, or a list `messages` of two or more, of which every pair is judged. Each persona sees
each pair once, in an order drawn from the seed (the study shuffles which message is A), thinks and votes. Every
vote, thought and parse status is kept; a bad row is reported by its line and the others are judged. A message
that is no candidate (empty, a copy of another, about nothing of its anchor: `agora.sim.candidates`) is kept with
its reason and shown to no one, unless asked. This is the primitive for A/B-testing two texts on an audience, and
for measuring the audience itself.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field

from agora.sim.audience.base import Audience, Ballot
from agora.sim.candidates import contest_checks
from agora.sim.errors import AgoraError
from agora.sim.records import Record, same_file
from agora.sim.rows import Anchors, RowError, jsonl_rows
from agora.sim.scenario import Scenarios
from agora.sim.schema import Anchor, AnchorText
from agora.sim.stats import wilson


@dataclass(frozen=True)
class Row:
    line: int
    id: str
    task: str
    anchor: Anchor | AnchorText
    messages: tuple[str, ...]
    invalid: tuple[str, ...]  # per message, why it is no candidate ("" for a valid one)


def read_rows(path: Path, scenarios: Scenarios) -> tuple[list[Row], list[str]]:
    """The rows to judge, and one problem line per bad row (file, line, field)."""
    anchors, rows, problems = Anchors(scenarios), [], []
    for n, row in jsonl_rows(path):
        try:
            if isinstance(row, RowError):
                raise row
            task, anchor, messages = anchors.task(row), anchors.of(row), _messages(row)
            rows.append(Row(n, str(row.get("id", f"line-{n}")), task, anchor, messages,
                            tuple(contest_checks(list(messages), anchor))))
        except RowError as err:
            problems.append(f"{path} line {n}: {err}")
    return rows, problems


def _messages(row: dict) -> tuple[str, ...]:
    if "messages" in row:
        messages, field = row["messages"], "messages"
        if not isinstance(messages, list) or len(messages) < 2:
            raise RowError("field 'messages': expected a list of two or more messages")
    elif "a" in row or "b" in row:
        messages, field = [row.get("a"), row.get("b")], "a/b"
    else:
        raise RowError("needs two messages: fields 'a' and 'b', or a list 'messages'")
    for i, m in enumerate(messages):
        if not isinstance(m, str):  # an empty message is judged (and its loss recorded), a missing one is an error
            name = "ab"[i] if field == "a/b" else f"messages[{i}]"
            raise RowError(f"field '{name}': expected a message (a string), got {type(m).__name__}")
    return tuple(messages)


def judge(rows: list[Row], audience: Audience, scenarios: Scenarios, seed: int = 0, batch: int = 8,
          progress: Callable[[int, int], None] | None = None, invalid: str = "skip") -> pd.DataFrame:
    """One row per persona and pair of each input row: the order it saw them in, its vote, thought and parse status.

    Pairs go to the audience `batch` at a time (one generate call per batch for an LLM audience); the same seed
    gives the same orders, and the audience's own seeds, whatever the batch size. A pair with an invalid message
    is skipped (`invalid="skip"`) or judged all the same (`"judge"`)."""
    personas = scenarios.personas
    duels = []  # (row, first, second, ballots, orders, audience seed)
    for row in rows:
        for i, j in combinations(range(len(row.messages)), 2):
            if invalid == "skip" and (row.invalid[i] or row.invalid[j]):
                continue
            rng = random.Random(f"{seed}:{row.line}:{i}:{j}")
            orders = [(j, i) if rng.random() < 0.5 else (i, j) for _ in personas]
            ballots = [Ballot(p, row.messages[a], row.messages[b]) for p, (a, b) in zip(personas, orders)]
            duels.append((row, i, j, ballots, orders, rng.randrange(2**31)))
    records, done = [], 0
    for task in dict.fromkeys(d[0].task for d in duels):
        spec, mine = scenarios.task(task), [d for d in duels if d[0].task == task]
        for start in range(0, len(mine), batch):
            chunk = mine[start:start + batch]
            verdicts = audience.judge_many(spec, [(row.anchor, ballots, s) for row, _, _, ballots, _, s in chunk])
            for (row, i, j, _, orders, _), judgments in zip(chunk, verdicts):
                for persona, (a, b), v in zip(personas, orders, judgments):
                    chosen = {"A": a, "B": b}.get(v.vote or "")
                    records.append({"line": row.line, "id": row.id, "task": row.task, "anchor": row.anchor.id or "text",
                                    "pair": f"{i}-{j}", "persona": persona.id, "shown_a": a, "shown_b": b,
                                    "vote": v.vote, "chosen": chosen, "thought": v.thought,
                                    "parse_status": v.parse_status})
            done += len(chunk)
            if progress:
                progress(done, len(duels))
    frame = pd.DataFrame(records)
    return frame.astype({"chosen": "Int64"}) if not frame.empty else frame


def summary(judgments: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per row and message: the share of its ballots it won, with a Wilson interval, over the ballots that gave a
    vote; abstentions are counted apart (a share that silently dropped them would flatter a failing audience)."""
    out = []
    for (line, row_id), group in judgments.groupby(["line", "id"], sort=True):
        for m in sorted(set(group["shown_a"]) | set(group["shown_b"])):
            mine = group[(group["shown_a"] == m) | (group["shown_b"] == m)]
            voted = mine[mine["chosen"].notna()]
            won = int((voted["chosen"] == m).sum())
            low, high = wilson(won, len(voted), confidence) if len(voted) else (float("nan"), float("nan"))
            out.append({"line": line, "id": row_id, "message": int(m), "ballots": len(mine), "votes": won,
                        "abstained": len(mine) - len(voted), "share": won / len(voted) if len(voted) else float("nan"),
                        "ci_low": low, "ci_high": high})
    return pd.DataFrame(out)


def reasons(judgments: pd.DataFrame, line: int, message: int, k: int = 2) -> list[str]:
    """Up to k distinct thoughts of personas who chose this message."""
    chose = judgments[(judgments["line"] == line) & (judgments["chosen"] == message)]
    return list(dict.fromkeys(t.strip() for t in chose["thought"] if isinstance(t, str) and t.strip()))[:k]


def messages_table(rows: list[Row]) -> pd.DataFrame:
    """Every message read, with its row and why it is no candidate ("" for a valid one)."""
    return pd.DataFrame([{"line": r.line, "id": r.id, "task": r.task, "message": i, "text": text, "invalid": reason}
                         for r in rows for i, (text, reason) in enumerate(zip(r.messages, r.invalid))])


class JudgingRecord(Record):
    """A judging: which file (and its hash, so a changed file is noticed), which audience, seed and invalid rule."""

    record: Literal["judging"] = "judging"
    file: str
    sha256: str
    audience: str
    seed: int = 0
    invalid: Literal["skip", "judge"] = "skip"
    batch: int = Field(default=8, ge=1, description="pairs judged per batch")

    def run(self, store, say: Callable[[str], None] = lambda _: None) -> str:
        return judging(self, store, say).run_id


@dataclass(frozen=True)
class Judged:
    run_id: str
    path: Path
    rows: list[Row]
    judgments: pd.DataFrame
    identity: str  # the audience's


def judging(record: JudgingRecord, store, say: Callable[[str], None] = lambda _: None,
            progress: Callable[[int, int], None] | None = None) -> Judged:
    """Judge the record's file with its audience, seed and rule, and save the entry: `agora judge` and `agora rerun`
    both come here. Bad rows and messages that are no candidate are said, one line each."""
    from agora.sim.audience.llm import LLMAudience
    from agora.sim.backends.cached import CachedBackend, CallCache
    from agora.sim.candidates import REASONS
    from agora.sim.runner import load_audience
    from agora.sim.tiny.control import TinyConfig

    scenarios = Scenarios.load()
    file = same_file(Path(record.file), record.sha256)
    rows, problems = read_rows(file, scenarios)
    for p in problems:
        say(f"skipped: {p}")
    if not rows:
        raise AgoraError(f"{file}: no row to judge ({len(problems)} bad rows)")
    for r in rows:
        for i, reason in enumerate(r.invalid):
            if reason:
                say(f"not a candidate: {file} line {r.line}, message {i}: {REASONS[reason]}"
                    + (" (judged anyway)" if record.invalid == "judge" else ""))
    voters = load_audience(record.audience, scenarios, TinyConfig())
    if isinstance(voters, LLMAudience):
        voters.backend = CachedBackend(voters.backend, CallCache())
    judgments = judge(rows, voters, scenarios, record.seed, record.batch, progress, record.invalid)
    return Judged(*save(store, rows, judgments, record, voters.identity, problems), rows, judgments, voters.identity)


def save(store, rows: list[Row], judgments: pd.DataFrame, record: JudgingRecord, identity: str,
         skipped: list[str]) -> tuple[str, Path]:
    """A `judging` entry in the run store: config.yaml (the record), messages.parquet, judgments.parquet,
    summary.parquet, and result.json: the audience's identity and the rows read and skipped."""
    import json

    from agora.sim.store import atomic_json, atomic_parquet

    tasks = sorted(set(judgments["task"])) if not judgments.empty else []
    run_id, path = store.create_entry(record, task=tasks[0] if len(tasks) == 1 else "all", seed=record.seed,
                                      audience=record.audience)
    atomic_json({"audience_identity": identity, "rows": len(rows), "skipped": skipped}, path / "result.json", indent=2)
    atomic_parquet(messages_table(rows), path / "messages.parquet")
    atomic_parquet(judgments, path / "judgments.parquet")
    atomic_parquet(summary(judgments), path / "summary.parquet")
    abstained = int(judgments["chosen"].isna().sum()) if not judgments.empty else 0
    store.update(run_id, status="finished", metrics=json.dumps({"ballots": len(judgments), "abstentions": abstained}))
    return run_id, path
