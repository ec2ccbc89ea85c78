"""A content-addressed cache of LLM calls, shared by every run on the machine, and the backend that uses it.

A call's key is the hash of what determines its completion: the model's identity, the prompt, the sampling
settings and the prompt's own seed (backends sample each prompt from its own seed, so the seed *is* the sample
index: two samples of one prompt differ in seed and are two entries). A re-run, a resumed run or a sweep cell
that repeats another's calls therefore makes no call twice, and temperature > 0 stays correct.

SQLite in WAL mode: many processes (a sweep's workers) read and write one file safely.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from contextlib import closing
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from agora.sim.backends.base import Backend, Completion, Prompt, Sampling, prompt_seeds, truncated
from agora.sim.paths import agora_home
from agora.sim.storable import storable

SCHEMA = """CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY, identity TEXT, completion TEXT, created REAL, last_used REAL, hits INTEGER DEFAULT 0,
    truncated INTEGER DEFAULT 0)"""


def default_cache() -> Path:
    """$AGORA_CACHE, or calls.sqlite under $AGORA_HOME/cache."""
    return Path(os.environ.get("AGORA_CACHE") or agora_home() / "cache" / "calls.sqlite")


def call_key(identity: str, prompt: Prompt, sampling: Sampling, seed: int) -> str:
    settings = {k: v for k, v in asdict(sampling).items() if k != "seed"}
    if sampling.temperature == 0:
        seed = 0  # greedy decoding ignores the seed: one entry serves every seed
    blob = json.dumps([identity, prompt, settings, seed], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


class CallCache:
    def __init__(self, path: Path | None = None):
        self.path = Path(path or default_cache())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._db()) as db, db:
            db.execute(SCHEMA)
            if "truncated" not in {row[1] for row in db.execute("PRAGMA table_info(calls)")}:  # a cache from before
                db.execute("ALTER TABLE calls ADD COLUMN truncated INTEGER DEFAULT 0")

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def get(self, keys: list[str]) -> dict[str, Completion]:
        found: dict[str, Completion] = {}
        with closing(self._db()) as db, db:
            for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found.update((key, Completion(text, bool(cut))) for key, text, cut in
                             db.execute(f"SELECT key, completion, truncated FROM calls WHERE key IN ({marks})", chunk))
                db.execute(f"UPDATE calls SET hits = hits + 1, last_used = ? WHERE key IN ({marks})", (time.time(), *chunk))
        return found

    def put(self, identity: str, entries: dict[str, str]) -> None:
        now = time.time()
        with closing(self._db()) as db, db:
            db.executemany("INSERT OR IGNORE INTO calls (key, identity, completion, created, last_used, truncated) "
                           "VALUES (?, ?, ?, ?, ?, ?)", [(k, identity, text, now, now, truncated(text)) for k, text in entries.items()])

    def stats(self) -> pd.DataFrame:
        """Per model identity: entries, hits served, size of the stored completions, age."""
        with closing(self._db()) as db:
            return pd.read_sql_query(
                "SELECT identity, COUNT(*) AS entries, SUM(hits) AS hits, SUM(LENGTH(completion)) AS bytes, "
                "datetime(MIN(created), 'unixepoch') AS oldest, datetime(MAX(last_used), 'unixepoch') AS last_used "
                "FROM calls GROUP BY identity ORDER BY entries DESC", db)

    def prune(self, *, older_than_days: float | None = None, identity: str | None = None) -> int:
        """Delete entries unused for `older_than_days` and/or of one model identity (all when neither is given)."""
        where, args = [], []
        if older_than_days is not None:
            where.append("last_used < ?")
            args.append(time.time() - older_than_days * 86400)
        if identity is not None:
            where.append("identity = ?")
            args.append(identity)
        with closing(self._db()) as db, db:
            n = db.execute("DELETE FROM calls" + (" WHERE " + " AND ".join(where) if where else ""), args).rowcount
        with closing(sqlite3.connect(self.path, timeout=60)) as db:
            db.execute("VACUUM")
        return n


class CachedBackend:
    """Any backend behind the cache: hits come from SQLite, the misses go to the model as one batch."""

    def __init__(self, inner: Backend, cache: CallCache):
        self.inner = inner
        self.cache = cache
        self.identity = inner.identity
        self.hits = self.misses = 0

    def __getattr__(self, name: str):  # path, tokenizer, model ... of the wrapped backend
        return getattr(self.inner, name)

    def generate(self, prompts: list[Prompt], sampling: Sampling, seeds: list[int] | None = None) -> list[str]:
        seeds = prompt_seeds(sampling, len(prompts), seeds)
        keys = [call_key(self.identity, p, sampling, s) for p, s in zip(prompts, seeds)]
        found = self.cache.get(list(dict.fromkeys(keys)))
        todo: dict[str, int] = {}  # missing key -> its first prompt
        for i, k in enumerate(keys):
            if k not in found and k not in todo:
                todo[k] = i
        if todo:
            texts = self.inner.generate([prompts[i] for i in todo.values()], sampling, [seeds[i] for i in todo.values()])
            fresh = dict(zip(todo, map(storable, texts)))  # what no cache or table can hold, as U+FFFD
            self.cache.put(self.identity, fresh)
            found.update(fresh)
        self.misses += len(todo)
        self.hits += len(keys) - len(todo)
        return [found[k] for k in keys]
