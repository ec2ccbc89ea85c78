"""A sweep file from a user loads into its cells' run configs, or fails with one line naming the file (and the key
or cell), whatever it holds."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agora.experiments.sweep import Sweep
from tests.fuzz.strategies import (
    RECURSIVE_YAML,
    alias_bomb,
    corrupted,
    fuzz,
    hostile,
    mutated,
    outcome,
    sweep_file,
    to_yaml,
    write,
)


def load(tmp_path: Path, data: bytes) -> Sweep | None:
    path = write(Path(tempfile.mkdtemp(dir=tmp_path)) / "sweep.yaml", data)
    sweep = outcome("sweep files", lambda: Sweep.load(path), path)
    if sweep is not None:  # a loaded sweep is whole: a config per cell, and the same id when loaded again
        assert len(sweep.configs) == len(sweep.overrides) == len(sweep.stages) >= 1
        assert Sweep.load(path).id == sweep.id
    return sweep


@fuzz()
@given(doc=sweep_file(), data=st.data())
def test_a_mutated_sweep_loads_or_is_one_line(tmp_path, doc, data):
    mutant, n = data.draw(mutated(doc))
    sweep = load(tmp_path, to_yaml(mutant, unicode=data.draw(st.booleans())))
    if n == 0:
        assert sweep is not None


@fuzz()
@given(doc=sweep_file(), data=st.data())
def test_a_corrupted_sweep_loads_or_is_one_line(tmp_path, doc, data):
    load(tmp_path, data.draw(corrupted(to_yaml(doc))))


@fuzz(0.5)
@given(value=hostile())
def test_any_yaml_document_loads_or_is_one_line(tmp_path, value):
    load(tmp_path, to_yaml(value))


@pytest.mark.parametrize("at", [("base", "resolved"), ("base", "train"), ("base", "tiny")])
def test_aliases_that_expand_to_billions_are_refused_at_once(tmp_path, at):
    doc = {"name": "s", "base": {"task": "sales", "train": {}}}
    assert load(tmp_path, alias_bomb(doc, *at)) is None


@pytest.mark.parametrize("raw", RECURSIVE_YAML)
def test_a_structure_that_contains_itself_is_refused(tmp_path, raw):
    assert load(tmp_path, raw) is None
