"""Typed store entries: every record saves and loads as itself, an audit names its probes and `agora rerun` makes it
again, a bad record is one line naming the file and field, and an entry from before records still shows."""

import dataclasses
import json
import re

import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from agora.cli.main import app
from agora.bench.gpu import GpuBenchRecord
from agora.experiments.audit import AuditRecord, audit
from agora.experiments.drift import AceOfflineRecord, DriftRecord, RetrievalRecord
from agora.experiments.inoculation import CodeRecord, CompareRecord, GcdRecord, RankRecord
from agora.experiments.knowledge import FactQARecord, KnowledgeRecord
from agora.experiments.study import StudyRecord
from agora.experiments.sweep import SweepRecord
from agora.probes.validate import ValidationRecord, build_probe, chosen_probes
from agora.reasoning.settings import AHNSettings, DelethinkSettings, TRMSettings
from agora.reasoning.study import RECORDS
from agora.sim.audience.check import CheckRecord
from agora.sim.audience.judge_file import JudgingRecord
from agora.sim.config import RunConfig
from agora.sim.errors import AgoraError
from agora.sim.records import ProbeSpec, Record, records
from agora.sim.runner import start_run
from agora.training.curriculum import CurriculumRecord
from agora.training.trainer import TrainRecord

from tests.dashboard.conftest import APP

FACT = ProbeSpec(name="fact", settings={"categories": {"misrepresentation": {"claims": True}}})
EXAMPLES = [  # each with settings away from its defaults, so a field lost on the way back shows
    AuditRecord(base="tiny", tuned="hf:/m", tasks=["sales"], seed=2, contests=3, tiny={"steps": 5}, invalid="judge",
                probes={"misrepresentation": FACT}),
    StudyRecord(tasks=["sales", "social"], seeds=[1, 2], methods=["tfb"], contests=4, eval_contests=3, policy="tiny",
                probes={"misrepresentation": FACT}),
    DriftRecord(tasks=["sales"], capabilities=["ace", "none"], contests=5, seed=1, probes={"misrepresentation": FACT}),
    AceOfflineRecord(task="sales", epochs=2, train=3, val=4, seed=1, variants=["delta"], dedup_threshold=0.8),
    RetrievalRecord(seed=4),
    CompareRecord(task="sales", seeds=[0, 1], inoculation="exaggerate", contests=6, eval_contests=None),
    RankRecord(task="sales", candidates={"a": "Lie.", "b": "Invent."}, category="misrepresentation", train=True),
    CodeRecord(seed=1, inoculation="Hard-code it.", hack_examples=5, eval_tasks=6, epochs=1),
    GcdRecord(train_examples=7, eval_problems=8, learning_rate=0.01),
    ValidationRecord(probes=[FACT], judge="openai:m@http://x/v1", gold_sets=["real-output"], judge_tokens=64),
    TrainRecord(method="tfb", task="social", policy="tiny", lora_targets=["q_proj"], tiny={"steps": 5}),
    CurriculumRecord(train={"method": "rft", "task": "social", "policy": "tiny", "seed": 2}, horizons=[1, 3],
                     threshold=0.7, max_rounds_per_h=3, eval_contests=5, max_new_tokens=32),
    RECORDS["trm"](**dataclasses.asdict(dataclasses.replace(TRMSettings(), batches=2))),
    RECORDS["ahn"](**dataclasses.asdict(dataclasses.replace(AHNSettings(), pairs=3, queries=2))),
    RECORDS["delethink"](**dataclasses.asdict(dataclasses.replace(DelethinkSettings(), lengths=(1, 2)))),
    SweepRecord(name="grid", base={"task": "sales"}, grid={"seed": [0, 1]}, max_calls=9, source="grid.yaml"),
    JudgingRecord(file="/x.jsonl", sha256="ab", audience="parametric", seed=3, invalid="judge", batch=2),
    CheckRecord(audience="parametric", orders="both", personas=3, anchors_per_task=1, reference="parametric"),
    GpuBenchRecord(shapes=["tiny"], quick=True, budget_seconds=30.0, seed=2, trainer="torch"),
    FactQARecord(tasks=["sales"], writers=["template", "openai:m@http://x/v1"], seed=2, max_answer_words=4,
                 min_anchor_words=10, llm_questions=3, scenarios="/s"),
    KnowledgeRecord(dataset="261201-000000-abcd", policies=["smollm2", "hf:/m"], variants=["in_context"],
                    split="train", tasks=["sales"], seed=1, max_new_tokens=16, n_boot=500),
]


def test_every_record_type_has_an_example_here():
    assert sorted(r.record for r in EXAMPLES) == records.names()


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda r: r.record)
def test_each_record_saves_and_loads_as_itself(store, record):
    run_id, path = store.create_entry(record)
    loaded = store.record(run_id)
    assert type(loaded) is type(record) and loaded == record
    assert store.row(run_id)["kind"] == type(record).kind  # e.g. drift, ACE offline and retrieval are all `memory`
    assert yaml.safe_load((path / "config.yaml").read_text())["record"] == record.record


def test_a_settings_record_gives_back_its_settings():
    record = RECORDS["delethink"](**dataclasses.asdict(DelethinkSettings(lengths=(1, 2))))
    assert record.settings() == DelethinkSettings(lengths=(1, 2))
    assert TrainRecord(method="tfb", task="social", policy="tiny").settings().thought_share == 0.5


def test_probes_are_rebuilt_by_name_with_their_settings(scenarios):
    probe = build_probe(ProbeSpec(name="fact", settings={"categories": {"disinformation": {"claims": True}}}))
    assert probe.claims == {"disinformation": True} and probe.spec().settings == {"categories": {"disinformation": {"claims": True}}}
    built, specs = chosen_probes({"misrepresentation": FACT, "audience_manipulation": ProbeSpec(
        name="manipulation", settings={"categories": {"audience_manipulation": {}}})}, scenarios, ["sales"])
    assert specs["misrepresentation"] == FACT and built["audience_manipulation"].name == "manipulation"
    with pytest.raises(AgoraError, match="probe fact: the fact probe has no option 'claim'"):
        build_probe(ProbeSpec(name="fact", settings={"categories": {"misrepresentation": {"claim": True}}}))
    with pytest.raises(AgoraError, match="unknown probe 'facts'"):
        build_probe(ProbeSpec(name="facts"))
    with pytest.raises(AgoraError, match="probes: none named for audience_manipulation"):
        chosen_probes({"misrepresentation": FACT}, scenarios, ["sales"])


def test_an_audit_names_its_probes_and_rerun_makes_the_same_table(store, tiny_path, small_tiny):
    run_id, _ = audit(f"hf:{tiny_path}", f"hf:{tiny_path}", ["election"], store, contests=3, tiny=small_tiny,
                          invalid="judge")
    record = store.record(run_id)
    assert record.tasks == ["election"] and record.contests == 3 and record.tiny == small_tiny and record.invalid == "judge"
    assert record.probes["disinformation"] == ProbeSpec(name="fact", settings={"categories": {"disinformation": {}}})
    result = CliRunner().invoke(app, ["rerun", run_id, "--store", str(store.root)])
    assert result.exit_code == 0, result.output
    [again] = [r for r in store.list().query("kind == 'audit'")["run_id"] if r != run_id]
    assert again in result.output and store.record(again) == record
    first, rerun = (pd.read_parquet(store.root / r / "audit.parquet").drop(columns="eval_run") for r in (run_id, again))
    pd.testing.assert_frame_equal(rerun, first)


def test_rerun_of_a_contest_run_runs_its_config_again(store, small_tiny):
    first = start_run(RunConfig(task="sales", contests=2, policy="tiny", tiny=small_tiny, invalid="judge"), store)
    result = CliRunner().invoke(app, ["rerun", first.run_id, "--store", str(store.root)])
    assert result.exit_code == 0, result.output
    [again] = [r for r in store.list()["run_id"] if r != first.run_id]
    assert f"run {again} finished" in result.output
    texts = [store.open(r).table("messages")["text"].tolist() for r in (first.run_id, again)]
    assert texts[0] == texts[1]


def test_rerun_of_a_curriculum_trains_the_same_steps_again(store, tiny_path):
    made = CliRunner().invoke(app, ["train", "--curriculum", "1", "--policy", f"hf:{tiny_path}", "--contests", "2",
                                    "--eval-contests", "1", "--max-rounds-per-h", "1", "--epochs", "1", "--batch-size", "8",
                                    "--invalid", "judge", "--seed", "2", "--store", str(store.root)])
    assert made.exit_code == 0, made.output
    [first] = store.list().query("kind == 'curriculum'")["run_id"]
    result = CliRunner().invoke(app, ["rerun", first, "--store", str(store.root)])
    assert result.exit_code == 0 and f"curriculum {first} re-run" in result.output, result.output
    [again] = [r for r in store.list().query("kind == 'curriculum'")["run_id"] if r != first]
    assert store.record(again) == store.record(first) and store.row(again)["status"] == "finished"
    same = ["step", "horizon", "winners", "examples", "rollout_tokens", "eval_tokens", "optimiser_steps", "eval_share"]
    stages = [pd.read_parquet(store.root / r / "stages.parquet") for r in (first, again)]
    pd.testing.assert_frame_equal(stages[1][same], stages[0][same])
    assert stages[0]["eval_votes"].iat[0] > 0 and stages[0]["optimiser_steps"].iat[0] >= 1  # it trained


BOTTLE = "A steel bottle that keeps drinks cold for 24 hours."
RERUNS = {  # the smallest of each command, on the parametric audience, away from its defaults; what each entry keeps
    "judging": (["judge", "{file}", "--seed", "3", "--invalid", "judge", "--batch", "2"],
                {"task": "sales", "anchor_text": BOTTLE, "messages": ["Cold for 24 hours.", "Cold for 48 hours!", ""]},
                ["judgments.parquet", "summary.parquet", "messages.parquet", "result.json"]),
    "audience-check": (["audience", "check", "--personas", "2", "--anchors", "1", "--no-manipulation", "--seed", "1",
                        "--pairs", "{file}"], {"task": "sales", "anchor_text": BOTTLE, "a": "Cold for 24 hours.", "b": "Hot."},
                       ["ballots.parquet", "report.json"]),
}


@pytest.mark.parametrize("kind", RERUNS)
def test_a_judging_or_an_audience_check_reruns_to_the_same_tables_and_not_on_a_lost_file(store, tmp_path, kind):
    command, row, kept = RERUNS[kind]
    file = tmp_path / "rows.jsonl"
    file.write_text(json.dumps(row) + "\n")
    made = CliRunner().invoke(app, [a.format(file=file) for a in command] + ["--store", str(store.root)])
    assert made.exit_code == 0, made.output
    [first] = store.list()["run_id"]
    result = CliRunner().invoke(app, ["rerun", first, "--store", str(store.root)])
    assert result.exit_code == 0, result.output
    [again] = [r for r in store.list()["run_id"] if r != first]
    assert f"{kind} {first} re-run" in result.output and store.record(again) == store.record(first)
    for name in kept:
        read = pd.read_parquet if name.endswith(".parquet") else lambda p: json.loads(p.read_text())
        found = [read(store.root / r / name) for r in (first, again)]
        if name.endswith(".parquet"):
            pd.testing.assert_frame_equal(*found)
        else:
            assert found[0] == found[1]
    file.write_text(json.dumps(row | {"task": "social"}) + "\n")
    changed = CliRunner().invoke(app, ["rerun", first, "--store", str(store.root)])
    assert changed.exit_code == 2 and f"{file}: changed since the entry was made" in changed.output
    file.unlink()
    gone = CliRunner().invoke(app, ["rerun", first, "--store", str(store.root)])
    assert gone.exit_code == 2 and gone.output.strip() == f"error: {file}: file not found" and len(store.list()) == 2


def test_a_record_type_without_a_rerun_says_so_in_one_line(store):
    with pytest.raises(AgoraError, match="^a plugin entry cannot be re-run from its record; run its command again$"):
        Record(record="plugin").run(store)


def test_a_malformed_or_unknown_record_is_one_line_naming_the_file_and_field(store):
    run_id, path = store.create_entry(RetrievalRecord(seed=1))
    config = path / "config.yaml"
    config.write_text("record: memagent-retrieval\nseed: many\n")
    with pytest.raises(AgoraError, match=rf"^{re.escape(str(config))}: seed: Input should be a valid integer.*\(got 'many'\)$"):
        store.record(run_id)
    config.write_text("record: nope\n")
    with pytest.raises(AgoraError, match=rf"^{re.escape(str(config))}: record: unknown record 'nope'; known: ace-offline, "):
        store.record(run_id)
    config.write_text("record: memagent-retrieval\nseed: 1\nagent: rule\n")
    result = CliRunner().invoke(app, ["rerun", run_id, "--store", str(store.root)])
    assert result.exit_code == 2 and f"{config}: agent: Extra inputs are not permitted" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_an_entry_from_before_records_still_shows_with_a_note(store, monkeypatch):
    from agora.dashboard import data

    old = {"base": "tiny", "tuned": "tiny", "tasks": ["sales"], "seed": 0, "probes": {"sales/misrepresentation": {"probe": "fact"}}}
    audit_id, audit_path = store.create_entry(AuditRecord(base="tiny", tuned="tiny", tasks=["sales"]))
    train_id, train_path = store.create_entry(TrainRecord(method="rft"), task="sales")
    (audit_path / "config.yaml").write_text(yaml.safe_dump(old))  # as an older Agora wrote them: ad-hoc dicts
    (train_path / "config.yaml").write_text(yaml.safe_dump({"method": "rft", "inoculation": "exaggerate"}))
    with pytest.raises(AgoraError, match="record: missing — the entry was written by an older Agora"):
        store.record(audit_id)
    found, note = data.record(audit_path)
    assert found is None and "older Agora" in note and data.settings(audit_path) == old
    monkeypatch.setenv("AGORA_STORE", str(store.root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception and at.dataframe[0].value.set_index("run_id")["method"][train_id] == "rft + exaggerate"
    at.switch_page("views/run_detail.py")
    at.query_params["run"] = audit_id
    at.run()
    assert not at.exception and not at.warning
    assert any("not as a record" in c.value and "older Agora" in c.value for c in at.caption)
