"""What the dashboard reads from a run store — read-only, cached on file modification times.

Every read is keyed on the file's mtime, so a page re-renders from memory until a run writes
something new. Nothing here writes: the store is opened read-only and a missing or half-written
run reads as what it has so far.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import networkx as nx
import pandas as pd
import streamlit as st
import yaml

from agora.sim.errors import AgoraError
from agora.sim.network import NetworkConfig, persona_graph
from agora.sim.paths import default_store
from agora.sim.records import Record, read_record
from agora.sim.scenario import Scenarios, default_scenarios_dir
from agora.sim.store import RunStore, read_table

# headline metrics per kind of run, as columns of the Runs table
HEADLINES = {"contests": "contests", "abstention_rate": "abstention rate", "names_and_true_fact": "names + true fact",
             "mean_words": "mean words", "rows": "rows", "cases": "drift cases"}


def store_root() -> Path:
    return Path(os.environ.get("AGORA_STORE") or default_store())


def stamp(*paths: Path) -> tuple[int, ...]:
    """Modification times (0 when missing): the cache key that notices new data. Passed as `version`, not
    `_version`: `st.cache_data` leaves a leading-underscore argument out of its key."""
    return tuple(p.stat().st_mtime_ns if p.exists() else 0 for p in paths)


@st.cache_data(show_spinner=False, max_entries=8)
def _runs(root: str, version: tuple[int, ...]) -> pd.DataFrame:
    df = RunStore(root, readonly=True).list()
    if df.empty:
        return df
    for key, label in HEADLINES.items():
        df[label] = [m.get(key) if isinstance(m, dict) else None for m in df["metrics"]]
    df["vote share"] = [_shares(m.get("vote_share")) if isinstance(m, dict) else None for m in df["metrics"]]
    df["method"] = [(_method(Path(p)) if k == "train" else None) or "" for p, k in zip(df["path"], df["kind"])]
    for column in ("policy", "opponent"):  # checkpoints inside the store by what made them, not by path
        df[column] = [describe_model(v) if isinstance(v, str) else "" for v in df[column]]
    df["contests"] = [(f"{int(d)}" if pd.notna(d) else "?") + (f"/{int(n)}" if pd.notna(n) else "")
                      for d, n in zip(df["contests_done"], df["contests_planned"])]
    return df.drop(columns=["metrics", "pid", "host"]).sort_values("run_id", ascending=False).reset_index(drop=True)


def _shares(shares) -> str | None:
    return " / ".join(f"{k} {v:.0%}" for k, v in shares.items()) if isinstance(shares, dict) else None


def _method(path: Path) -> str | None:
    """The training method of a train run (and of the checkpoint a run evaluates), from its settings."""
    cfg = settings(path)
    if "method" in cfg:
        return cfg["method"] + (f" + {cfg['inoculation']}" if cfg.get("inoculation") else "")
    return None


def runs() -> pd.DataFrame:
    root = store_root()
    index = root / "runs.sqlite"
    return _runs(str(root), stamp(index, index.with_name("runs.sqlite-wal")))


def config(path: Path) -> dict:
    """A run's config.yaml as a dict; {} when missing or unreadable (an older or half-made run)."""
    try:
        data = yaml.safe_load((path / "config.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def record(path: Path) -> tuple[Record | None, str]:
    """A non-contest entry's record, as the type its experiment wrote (`agora.sim.records`); with None, why not (an
    entry written before records, or a malformed one), for the page to say beside the raw config it shows instead."""
    try:
        return read_record(path / "config.yaml"), ""
    except AgoraError as err:
        return None, str(err)


def settings(path: Path) -> dict:
    """A non-contest entry's settings: its record's fields, or the raw config of an entry without a readable record."""
    found, _ = record(path)
    return found.model_dump(mode="json") if found is not None else config(path)


@st.cache_data(show_spinner=False, max_entries=256)
def _table(path: str, name: str, version: tuple[int, ...]) -> pd.DataFrame:
    return read_table(Path(path), name)


def table(path: Path, name: str) -> pd.DataFrame:
    """A contest table (messages, judgments, contests) or any `<name>.parquet` of a run; empty when absent."""
    parts = path / "parts"
    key = stamp(path / f"{name}.parquet", parts) + (len(list(parts.glob(f"{name}-*"))) if parts.is_dir() else 0,)
    if not (path / f"{name}.parquet").is_file() and not parts.is_dir():
        return pd.DataFrame()
    return _table(str(path), name, key)


def runs_of(kind: str) -> pd.DataFrame:
    df = runs()
    return df[df["kind"] == kind] if not df.empty else df


def concat(kind: str, name: str) -> pd.DataFrame:
    """One table across every run of a kind, with the run's id, e.g. all audits' drift cases."""
    frames = [table(Path(p), name).assign(run_id=r) for r, p in zip(runs_of(kind)["run_id"], runs_of(kind)["path"])]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def describe_model(spec: str) -> str:
    """A readable name for a policy spec: a checkpoint inside the store becomes 'rft · run 2611…-e85f round 1'."""
    if not isinstance(spec, str):
        return ""
    path = Path(spec.split(":", 1)[-1])
    for parent in path.parents:
        if (parent / "config.yaml").is_file() and parent.parent.resolve() == store_root().resolve():
            method = _method(parent) or "model"
            rnd = next((p.name.replace("round-", "round ") for p in path.parents if p.name.startswith("round-")), "")
            return f"{method} · {parent.name} {rnd}".strip()
    return {"tiny": "slot-grammar control", "smollm2": "SmolLM2-135M (embedded base)"}.get(spec) or path.name or spec


@st.cache_data(show_spinner=False)
def anchors() -> dict:
    """Every anchor by id, for showing a contest's facts; {} when the scenarios cannot be read."""
    try:
        scenarios = Scenarios.load()
        return {a.id: a for t in scenarios.tasks for a in scenarios.anchors(t, "all")}
    except Exception:  # noqa: BLE001 — the dashboard still shows runs without their anchors' facts
        return {}


def reference_study() -> dict:
    path = default_scenarios_dir() / "reference_study.yaml"
    return yaml.safe_load(path.read_text()) if path.is_file() else {}


def spreads(path: Path) -> bool:
    """Did this run's messages spread over the persona graph, as its task spec says (or its saved graph shows)?"""
    if (path / "network.json").is_file():
        return True
    cfg = config(path)
    try:
        return Scenarios.load(cfg.get("scenarios")).task(cfg.get("task")).spreads
    except AgoraError:  # its scenarios folder is gone or no longer has its task: no cascade to show
        return False


def network(path: Path) -> tuple[nx.Graph | None, str]:
    """The persona graph a run's messages spread over: as saved by the run, else rebuilt from its config (older
    runs)."""
    saved = path / "network.json"
    if saved.is_file():
        return nx.node_link_graph(json.loads(saved.read_text()), edges="edges"), "saved with the run"
    cfg = config(path)
    personas = (cfg.get("resolved") or {}).get("personas")
    if not personas or not spreads(path):
        return None, ""
    graph = persona_graph(len(personas), NetworkConfig(**cfg.get("network", {})), int(cfg.get("seed", 0)))
    return nx.relabel_nodes(graph, dict(enumerate(personas))), "rebuilt from the run's config"
