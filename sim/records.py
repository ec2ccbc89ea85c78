"""Typed store entries: what made an entry (an audit, a study, a validation, ...), saved as its config.yaml.

A record holds the names and settings of everything that produced its entry — which probes, with which options —
so `agora rerun` can make the entry again and the dashboard reads the same types the experiments write. Each
record type is a `Record` subclass whose `record` field (a literal) names it; defining the class registers it in
`records`. `sim/` never imports the packages above it, so the modules that define records are imported on first
lookup through the `agora.records` entry-point group, as probes and capabilities are. A contest run's record is
its `RunConfig` (`agora.sim.config`), which predates this layer and is read by `RunStore.record` as before.
"""

from __future__ import annotations

import dataclasses
import hashlib
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from agora.sim.errors import AgoraError
from agora.sim.registry import Registry
from agora.sim.scenario import read_yaml, validate

if TYPE_CHECKING:
    from agora.sim.store import RunStore

records: Registry = Registry("record", "agora.records")


class ProbeSpec(BaseModel):
    """A probe as a record keeps it: its registered name and the settings its factory is called with."""

    model_config = ConfigDict(extra="forbid")
    name: str
    settings: dict = Field(default_factory=dict)


class Record(BaseModel):
    """The base of every non-contest entry's record. `kind` is the entry's kind in the store index (the dashboard
    page that shows it); several records may share one (drift, ACE offline and retrieval are all `memory`)."""

    model_config = ConfigDict(extra="forbid")
    kind: ClassVar[str] = ""  # default: the record's name
    record: str

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs) -> None:
        """A subclass with a literal `record` registers itself under it (an abstract base, without one, does not)."""
        super().__pydantic_init_subclass__(**kwargs)
        name = cls.model_fields["record"].default
        if isinstance(name, str):
            records.register(name)(cls)
            cls.kind = cls.kind or name

    def run(self, store: RunStore, say: Callable[[str], None] = lambda _: None) -> str:
        """Make the entry again, into a new one; returns its run id."""
        raise AgoraError(f"a {self.record} entry cannot be re-run from its record; run its command again")


def settings_record(settings: type, name: str, base: type[Record] = Record) -> type[Record]:
    """A record whose fields are those of a settings dataclass, flat and with its defaults, so the dataclass stays
    the one place they are declared; `record.settings()` builds the dataclass again (running its checks)."""
    hints = typing.get_type_hints(settings)
    fields = {f.name: (hints[f.name], f.default if f.default is not dataclasses.MISSING
                       else Field(default_factory=f.default_factory)) for f in dataclasses.fields(settings)}
    model = create_model(f"{settings.__name__}Record", __base__=base, record=(Literal[name], name), **fields)
    model.settings = lambda self: settings(**{k: getattr(self, k) for k in fields})
    return model


def file_sha256(path: Path) -> str:
    """The hash a record keeps of an input file it names, so that a rerun on a changed file is noticed."""
    if not path.is_file():
        raise AgoraError(f"{path}: file not found")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def same_file(path: Path, sha256: str | None) -> Path:
    """An input file as the record saw it (no hash kept: not compared); gone or changed, it is one line naming it."""
    if sha256 and (now := file_sha256(path)) != sha256:
        raise AgoraError(f"{path}: changed since the entry was made (sha256 {sha256[:12]}…, now {now[:12]}…); run its "
                         "command on the file for a new entry")
    return path


def read_record(path: Path) -> Record:
    """The record in a config.yaml, as its type. An entry written before records (no `record` field), an unknown
    record or a malformed one is an AgoraError of one line naming the file and the field."""
    data = read_yaml(path)
    name = data.get("record") if isinstance(data, dict) else None
    if name is None:
        raise AgoraError(f"{path}: record: missing — the entry was written by an older Agora, before entries were "
                         "typed records; its settings can be read but not re-run")
    try:
        model = records.get(str(name))
    except AgoraError as err:
        raise AgoraError(f"{path}: record: {err}") from None
    return validate(model, data, path)
