"""Shared fixtures: a small embedded model built once per test session, in a temporary AGORA_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agora.sim.scenario import Scenarios
from agora.sim.tiny.build import TinyConfig

# Small enough to train in ~20 s on 2 cores; same code path as the default model.
SMALL = {"hidden_size": 64, "num_layers": 2, "num_heads": 2, "intermediate_size": 128, "vocab_size": 800,
         "corpus_size": 2400, "steps": 60, "batch_size": 16}


@pytest.fixture(scope="session", autouse=True)
def agora_home(tmp_path_factory) -> Path:
    home = Path(os.environ.get("AGORA_TEST_HOME") or tmp_path_factory.mktemp("agora_home"))
    os.environ["AGORA_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def scenarios() -> Scenarios:
    return Scenarios.load()


@pytest.fixture(scope="session")
def small_tiny() -> dict:
    return dict(SMALL)


@pytest.fixture(scope="session")
def tiny_path(scenarios, small_tiny, agora_home) -> Path:
    from agora.sim.tiny.build import ensure_tiny

    return ensure_tiny(scenarios, TinyConfig(**small_tiny))


@pytest.fixture
def store(tmp_path):
    from agora.sim.store import RunStore

    return RunStore(tmp_path / "runs")
