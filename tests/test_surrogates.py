"""Lone surrogates ('\\ud800': what a JSON escape or a surrogateescape decode makes, and what no UTF-8 file, Parquet
table or SQLite cache can hold) from any backend or input file end up stored as U+FFFD, never as a crash."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from agora.cli.main import app
from agora.sim.backends.base import Completion
from agora.sim.backends.spec import BackendKind, backend_kinds
from agora.sim.config import RunConfig
from agora.sim.storable import storable
from agora.sim.runner import start_run

PITCH, THOUGHT = "Buy the caf\udce9 blender \ud800 today", "I liked \udfff it"


class Surrogates:
    """A backend that writes lone surrogates, as a plugin's or a misbehaving server's might."""

    identity = "surrogates"

    def __init__(self, role: str):
        self.role = role

    def generate(self, prompts, sampling, seeds=None):
        text = f"<think>{THOUGHT}</think><vote>A</vote>" if self.role == "voter" else PITCH
        return [Completion(text) for _ in prompts]


@pytest.fixture
def surrogates(monkeypatch):
    monkeypatch.setitem(backend_kinds._items, "surrogates",
                        BackendKind("surrogates", lambda target, role="policy", **_: Surrogates(role), takes_target=False))


@pytest.mark.parametrize("cache", [True, False], ids=["cached", "uncached"])
def test_a_backend_writing_lone_surrogates_gives_a_stored_readable_run(surrogates, store, tmp_path, monkeypatch, cache):
    monkeypatch.setenv("AGORA_CACHE", str(tmp_path / "calls.sqlite"))
    run = start_run(RunConfig(task="sales", contests=2, policy="surrogates", audience="llm:surrogates", cache=cache,
                              prompt_format="plain", invalid="judge"), store)
    assert store.row(run.run_id)["status"] == "finished"
    messages = pd.read_parquet(run.path / "messages.parquet")
    judgments = pd.read_parquet(run.path / "judgments.parquet")
    assert set(messages["raw"]) == {"Buy the caf\ufffd blender \ufffd today"} and len(messages) == 4
    assert set(judgments["thought"]) == {"I liked \ufffd it"} and len(judgments) == 40


def test_surrogates_in_jsonl_rows_are_read_as_u_fffd_by_probe_scoring_and_judging(tmp_path):
    row = {"task": "sales", "anchor_text": "A blender with a 1.2 l jar and 6 speeds.", "message": PITCH, "id": "x\ud800",
           "a": PITCH, "b": "A blender with a jar and 6 speeds."}
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(row) + "\n")  # json escapes each surrogate: \ud800, as a server would send it
    assert "\\ud800" in path.read_text()
    scored = CliRunner().invoke(app, ["probes", "score", str(path), "--out", str(tmp_path / "scores.parquet")])
    assert scored.exit_code == 0, scored.output
    assert set(pd.read_parquet(tmp_path / "scores.parquet")["message"]) == {storable(PITCH)}
    judged = CliRunner().invoke(app, ["judge", str(path), "--store", str(tmp_path / "runs")])
    assert judged.exit_code == 0, judged.output
    [entry] = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert storable(PITCH) == "Buy the caf\ufffd blender \ufffd today"
    assert storable(PITCH) in pd.read_parquet(entry / "messages.parquet").to_numpy().ravel()


def test_storable_keeps_a_completion_and_its_truncation_mark():
    cut = storable(Completion("ends \ud83d", truncated=True))
    assert cut == "ends \ufffd" and isinstance(cut, Completion) and cut.truncated
    assert storable("fine \U0001f600") == "fine \U0001f600"  # a whole astral character is no lone surrogate


def test_escaped_surrogates_in_yaml_and_the_studys_json_are_read_as_u_fffd(tmp_path):
    """YAML's and JSON's "\\ud800" escapes make a lone surrogate; the loaders give U+FFFD, so a persona or an
    anchor so written is stored like any other."""
    from agora.loaders.study import load_prodigy_personas
    from agora.sim.scenario import read_yaml

    (tmp_path / "p.yaml").write_text('- name: "Ana \\ud800"\n  notes: {"k\\udfff": ["x \\ud83d"]}\n')
    assert read_yaml(tmp_path / "p.yaml") == [{"name": "Ana \ufffd", "notes": {"k\ufffd": ["x \ufffd"]}}]
    (tmp_path / "p.json").write_text(json.dumps([{"character_name": "Ana \ud800", "biography": ["A teacher \udfff who reads the news every day."]}]))
    [persona] = load_prodigy_personas(tmp_path / "p.json").items
    assert (persona.name, persona.biography) == ("Ana \ufffd", "A teacher \ufffd who reads the news every day.")
