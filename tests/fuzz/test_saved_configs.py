"""A saved entry's config.yaml — a contest run's `RunConfig`, or any other entry's typed record — reads back as its
type, or fails with one line naming the file (and the field), whatever a user or a crash left in it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agora.sim.config import RunConfig
from agora.sim.records import Record, read_record, records
from tests.fuzz.strategies import (
    RECURSIVE_YAML,
    alias_bomb,
    corrupted,
    fuzz,
    hostile,
    mutated,
    outcome,
    run_settings,
    to_yaml,
    write,
)

FILLERS = {str: "x", int: 2, float: 0.5, bool: True, list[str]: ["sales"], list[int]: [0], dict[str, str]: {"a": "b"},
           dict: {"task": "sales"}}


def saved_records() -> list[dict]:
    """Every registered record type as config.yaml holds it, its required fields filled with plain values."""
    docs = []
    for name in records.names():
        model = records.get(name)
        required = {k: FILLERS[f.annotation] for k, f in model.model_fields.items()
                    if f.is_required() and k != "record"}
        docs.append(model(record=name, **required).model_dump(mode="json"))
    return docs


RECORDS = saved_records()


def path_for(tmp_path: Path, data: bytes) -> Path:
    return write(Path(tempfile.mkdtemp(dir=tmp_path)) / "config.yaml", data)


def run_config(path: Path):
    return outcome("saved: RunConfig.load", lambda: RunConfig.load(path), path)


def record(path: Path):
    got = outcome("saved: read_record", lambda: read_record(path), path)
    assert got is None or isinstance(got, Record)
    return got


@fuzz()
@given(fields=run_settings(), data=st.data())
def test_a_run_config(tmp_path, fields, data):
    doc = RunConfig.model_validate(fields).model_dump(mode="json")
    mutant, n = data.draw(mutated(doc))
    loaded = run_config(path_for(tmp_path, to_yaml(mutant)))
    if n == 0:
        assert loaded == RunConfig.model_validate(doc)


@fuzz()
@given(doc=st.sampled_from(RECORDS), data=st.data())
def test_a_record(tmp_path, doc, data):
    mutant, n = data.draw(mutated(doc))
    loaded = record(path_for(tmp_path, to_yaml(mutant)))
    if n == 0:
        assert loaded is not None and loaded.record == doc["record"]


@fuzz()
@given(doc=st.sampled_from(RECORDS) | run_settings(), data=st.data())
def test_corrupted_bytes(tmp_path, doc, data):
    path = path_for(tmp_path, data.draw(corrupted(to_yaml(doc))))
    run_config(path)
    record(path)


@fuzz(0.5)
@given(value=hostile())
def test_any_yaml_document(tmp_path, value):
    path = path_for(tmp_path, to_yaml(value))
    run_config(path)
    record(path)




@pytest.mark.parametrize("at", ["resolved", "tiny", "capability_settings"])
def test_aliases_that_expand_to_billions_are_refused_at_once(tmp_path, at):
    path = path_for(tmp_path, alias_bomb(RunConfig(task="sales").model_dump(mode="json"), at))
    assert run_config(path) is None and record(path) is None


@pytest.mark.parametrize("raw", RECURSIVE_YAML)
def test_a_structure_that_contains_itself_is_refused(tmp_path, raw):
    path = path_for(tmp_path, raw)
    assert run_config(path) is None and record(path) is None
