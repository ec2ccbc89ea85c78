"""The fact-question dataset in the store (template and LLM writers, rejection counts, splits kept) and the
knowledge eval (both variants, accuracy with CIs, base -> tuned), through the real OpenAI backend against a stub."""

import shutil

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from agora.cli.main import app
from agora.experiments.knowledge import (FactQARecord, KnowledgeRecord, build_dataset, evaluate, parse_pairs, score)
from agora.sim.errors import AgoraError
from agora.training.fact_qa import CHECKS


@pytest.fixture(autouse=True)
def _no_key(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("AGORA_CACHE", str(tmp_path / "calls.sqlite"))  # each test its own call cache


@pytest.fixture
def few_anchors(tmp_path, scenarios):
    """The shipped scenarios with two anchors of each split per task, so that few requests reach the stub."""
    root = tmp_path / "scenarios"
    shutil.copytree(scenarios.root, root)
    for path in (root / "anchors").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        path.write_text(yaml.safe_dump({key: [a for split in ("train", "test") for a in
                                              [x for x in items if x["split"] == split][:2]]
                                        for key, items in data.items()}))
    return str(root)


def test_the_dataset_keeps_splits_and_counts_each_check(store, scenarios):
    run_id, questions, rejections = build_dataset(FactQARecord(tasks=["sales", "election"]), store)
    saved = pd.read_parquet(store.root / run_id / "questions.parquet")
    assert len(saved) == len(questions) > 100 and store.kind(run_id) == "factqa"
    assert {"anchor_id", "task", "split", "question", "answer", "source", "domain", "persona"} <= set(saved.columns)
    splits = {a.id: a.split for t in ("sales", "election") for a in scenarios.anchors(t)}
    assert (saved["split"] == saved["anchor_id"].map(splits)).all() and set(saved["source"]) == {"template"}
    table = pd.read_parquet(store.root / run_id / "rejections.parquet")
    for task, rows in table[table["source"] == "template"].groupby("task"):
        rows = rows.set_index("step").loc[list(CHECKS)]
        assert (rows["entered"].iloc[1:].to_numpy() == (rows["entered"] - rows["rejected"]).iloc[:-1].to_numpy()).all()
        assert rows["entered"].iloc[-1] - rows["rejected"].iloc[-1] == (saved["task"] == task).sum()
    election = table[(table["task"] == "election") & (table["step"] == "answerable")].iloc[0]
    assert election["rejected"] > 0  # the biographies do not name every party or occupation the fields hold


def test_an_llm_writer_goes_through_the_same_checks(store, openai_stub, few_anchors):
    reply = ("Q: What is the battery life of the Corvo Drift Wireless Earbuds? A: 8 hours\n"
             "Q: What is the charging case like? A: pocket-sized\n"
             "Q: Who designed them? A: a famous studio in Paris")

    with openai_stub.serve(lambda request: (200, openai_stub.completion(reply))) as url:
        writer = f"openai:writer@{url}"
        _, questions, rejections = build_dataset(FactQARecord(tasks=["sales"], writers=["template", writer],
                                                                scenarios=few_anchors), store)
    mine = questions[questions["source"] == writer]
    assert set(mine["answer"]) == {"pocket-sized"} and len(mine) == len(set(mine["anchor_id"]))
    counts = rejections[rejections["source"] == writer].set_index("step")["rejected"]
    assert counts["format"] == 4 * 2  # five asked for, three written, on each of the 4 anchors
    assert counts["duplicate"] == 1 and counts["answerable"] >= 4  # the template asked the first; Paris is invented
    assert parse_pairs("Q: a? A: b\nQ: c?\nA: d") == [("a?", "b"), ("c?", "d")]


def test_replies_score_exact_or_stated_in_a_short_line():
    assert score("Answer: 0.8 L.", "0.8 litres") == (True, True)
    assert score("It holds 0.8 litres of water.\nMore text", "0.8 litres") == (False, True)
    assert score("It holds 1 litre.", "0.8 litres") == (False, False)
    assert score(" ".join(["word"] * 30) + " 0.8 litres", "0.8 litres") == (False, False)  # a copy of the text


def test_the_eval_reports_both_variants_and_base_to_tuned(store, openai_stub, few_anchors):
    run_id, questions, _ = build_dataset(FactQARecord(tasks=["social"], scenarios=few_anchors), store)
    test = questions[questions["split"] == "test"]
    answers = dict(zip(test["question"], test["answer"]))

    def reply(request):  # "reader" finds every answer in the article it is given; "forgetful" answers nothing
        prompt = request["messages"][-1]["content"]
        question = prompt.split("Question: ")[1].split("\n")[0]
        given = request["model"] == "reader" and prompt.startswith("News article:")
        return 200, openai_stub.completion(f"Answer: {answers[question]}" if given else "I do not know.")

    with openai_stub.serve(reply) as url:
        record = KnowledgeRecord(dataset=run_id, policies=[f"openai:reader@{url}", f"openai:forgetful@{url}"], n_boot=200)
        eval_id, table, diffs = evaluate(record, store)
        _, again, _ = evaluate(record, store)  # every reply from the call cache: same numbers, said to be cached
    assert (table["cached"] == 0).all() and (again["cached"] == 1).all()
    assert again["accuracy"].tolist() == table["accuracy"].tolist()
    rows = table[table["task"] == "all"].set_index(["policy", "variant"])["accuracy"]
    assert rows[f"openai:reader@{url}", "in_context"] == 1.0 and rows[f"openai:reader@{url}", "closed_book"] == 0.0
    assert rows[f"openai:forgetful@{url}", "in_context"] == 0.0
    ctx = diffs.set_index("variant").loc["in_context"]
    assert ctx["difference"] == ctx["low"] == ctx["high"] == -1.0 and ctx["anchors"] == test["anchor_id"].nunique()
    saved = pd.read_parquet(store.root / eval_id / "answers.parquet")
    assert len(saved) == 2 * 2 * len(test) and store.record(eval_id) == record


def test_the_commands_build_and_refuse_a_run_that_is_no_dataset(tmp_path):
    runs = tmp_path / "runs"
    built = CliRunner().invoke(app, ["factqa", "build", "--task", "social", "--store", str(runs)])
    assert built.exit_code == 0, built.output
    assert "fact-question dataset" in built.output and "leakage" in built.output
    bad = CliRunner().invoke(app, ["factqa", "eval", "--dataset", "nope", "--store", str(runs)])
    assert bad.exit_code == 2 and "is not a fact-question dataset" in bad.output
    with pytest.raises(AgoraError, match="no questions with split"):
        dataset = next(p.name for p in runs.iterdir() if p.is_dir())
        from agora.sim.store import RunStore

        evaluate(KnowledgeRecord(dataset=dataset, policies=["smollm2"], split="dev"), RunStore(runs))
