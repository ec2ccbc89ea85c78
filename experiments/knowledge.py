"""Fact questions as a dataset in the store, and the knowledge-erosion eval on it.

`build_dataset` runs Webscale-RL's pipeline over every anchor of each task, both splits (each question keeps its
anchor's split): filter (anchors too short to ask about) -> domain and persona (who asks: a shopper, a voter, a
reader) -> writers (the template writer of `agora.training.fact_qa`, and any backend spec as an LLM writer) ->
check (`fact_qa.CHECKS`; one writer's question that repeats an earlier writer's is a duplicate). The entry holds
`questions.parquet` and `rejections.parquet` (per task, writer and step: how many entered and how many it rejected).

`evaluate` asks each policy every question of a split in two variants, scored the same way (`score`):
- `closed_book`: the question and the name of its product, candidate or story only. It measures what the policy
  *knows*; Agora's anchors are invented, so any model should score near 0 — it is the variant that would show
  erosion of real knowledge on real anchors.
- `in_context`: the anchor's text, then the question. It measures whether the policy can *read and keep* the
  facts, which is what training on wins can erode on invented anchors.
The entry holds `answers.parquet` (one row per policy, variant and question), `accuracy.parquet` (per policy,
variant and task, Wilson 95% CIs) and `differences.parquet` (each later policy minus the first, with a paired
bootstrap CI over anchors: questions of one anchor share whatever makes it easy or hard).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from typing import ClassVar, Literal

import pandas as pd
from pydantic import Field

from agora.sim.backends.base import Chat, Sampling
from agora.sim.backends.cached import CachedBackend, CallCache
from agora.sim.errors import AgoraError
from agora.sim.policy import load_policy
from agora.sim.records import Record
from agora.sim.scenario import Scenarios
from agora.sim.schema import Anchor, TaskSpec
from agora.sim.stats import paired_bootstrap, percentile_ci, wilson
from agora.sim.store import RunStore, atomic_parquet
from agora.training.fact_qa import CHECKS, PERSONAS, FactQuestion, check, states, template_questions, tokens

VARIANTS = ("closed_book", "in_context")
Say = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


class FactQARecord(Record):
    """A fact-question dataset: the tasks, the writers and the check's settings."""

    kind: ClassVar[str] = "factqa"
    record: Literal["factqa"] = "factqa"
    tasks: list[str] = Field(min_length=1)
    writers: list[str] = Field(default_factory=lambda: ["template"], min_length=1,
                               description="template, or a backend spec whose model writes questions from the text")
    seed: int = 0
    max_answer_words: int = Field(default=5, ge=1, description="the `short` check")
    min_anchor_words: int = Field(default=30, ge=0, description="the filter: shorter anchors are not asked about")
    llm_questions: int = Field(default=5, ge=1, description="questions an LLM writer is asked for per anchor")
    scenarios: str | None = None

    def run(self, store: RunStore, say: Say = _quiet) -> str:
        return build_dataset(self, store, say)[0]


class KnowledgeRecord(Record):
    """A knowledge eval: the dataset, the policies (the first is the base) and the variants."""

    kind: ClassVar[str] = "factqa"
    record: Literal["factqa-eval"] = "factqa-eval"
    dataset: str
    policies: list[str] = Field(min_length=1)
    variants: list[str] = Field(default_factory=lambda: list(VARIANTS))
    split: str = "test"
    tasks: list[str] = Field(default_factory=list, description="none: every task of the dataset")
    seed: int = 0
    max_new_tokens: int = Field(default=32, ge=1)
    n_boot: int = Field(default=2000, ge=100)

    def run(self, store: RunStore, say: Say = _quiet) -> str:
        return evaluate(self, store, say)[0]


# --- building the dataset ---------------------------------------------------------------------------------

def writer_prompt(anchor: Anchor, spec: TaskSpec, n: int) -> Chat:
    """What an LLM writer is asked: `n` questions, in the persona of who would ask, answered by the text."""
    return [{"role": "system", "content": "You write short quiz questions about a text. Each answer is a fact the "
                                          "text states, in at most five words."},
            {"role": "user", "content": f"You are {PERSONAS[anchor.kind]}. Here is the {spec.source_name} about "
                                        f"{anchor.title}:\n\n{anchor.text}\n\nWrite {n} questions about it, one per "
                                        "line, each as:\nQ: <question> A: <answer>"}]


_PAIR = re.compile(r"Q:\s*(.+?)\s*A:\s*(.+?)\s*(?=\n|Q:|$)", re.S)


def parse_pairs(reply: str) -> list[tuple[str, str]]:
    """The (question, answer) pairs of a writer's reply, in order."""
    return [(q.strip(), a.strip()) for q, a in _PAIR.findall(reply)]


def _domain(anchor: Anchor) -> str:
    return getattr(anchor, "category", None) or {"candidate": "politics", "event": "local news"}[anchor.kind]


def _llm_candidates(spec_text: str, anchors: list[Anchor], task: str, scenarios: Scenarios, record: FactQARecord
                    ) -> list[tuple[list[FactQuestion], int]]:
    """Per anchor: the LLM writer's questions and how many of the `llm_questions` asked for it did not write."""
    policy = load_policy(spec_text, scenarios=scenarios)
    backend = CachedBackend(policy.backend, CallCache())
    spec = scenarios.task(task)
    sampling = Sampling(temperature=0.0, max_new_tokens=48 * record.llm_questions, seed=record.seed)
    replies = backend.generate([writer_prompt(a, spec, record.llm_questions) for a in anchors], sampling)
    out = []
    for anchor, reply in zip(anchors, replies):
        pairs = parse_pairs(reply)[:record.llm_questions]
        out.append(([FactQuestion(anchor.id, q, a, task, anchor.split, anchor.title, "llm", spec_text) for q, a in pairs],
                    record.llm_questions - len(pairs)))
    return out


def build_dataset(record: FactQARecord, store: RunStore, say: Say = _quiet) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """The dataset entry: (run id, questions, rejection counts)."""
    scenarios = Scenarios.load(record.scenarios)
    for task in record.tasks:
        scenarios.task(task)  # an unknown task fails before any writer loads
    start = time.perf_counter()
    rows, counts = [], []
    for task in record.tasks:
        anchors = scenarios.anchors(task)
        usable = [a for a in anchors if len(a.text.split()) >= record.min_anchor_words]
        counts.append({"task": task, "source": "anchors", "step": "filter", "entered": len(anchors),
                       "rejected": len(anchors) - len(usable)})
        seen = {a.id: set() for a in usable}  # one anchor's kept questions and answers, across writers
        for writer in record.writers:
            say(f"{task}: writing with {writer} on {len(usable)} anchors")
            written = ([(template_questions(a, task), 0) for a in usable] if writer == "template"
                       else _llm_candidates(writer, usable, task, scenarios, record))
            rejected, left = Counter(), 0
            for anchor, (candidates, missing) in zip(usable, written):
                kept, why = check(candidates, anchor, record.max_answer_words, seen[anchor.id])
                rejected.update(why + Counter(format=missing))
                rows += [{**asdict(q), "domain": _domain(anchor), "persona": PERSONAS[anchor.kind]} for q in kept]
                left += len(candidates) + missing
            for name in CHECKS:  # a check sees what the checks before it let through
                counts.append({"task": task, "source": writer, "step": name, "entered": left, "rejected": rejected[name]})
                left -= rejected[name]
    questions = pd.DataFrame(rows, columns=[*FactQuestion.__dataclass_fields__, "domain", "persona"])
    rejections = pd.DataFrame(counts)
    written = rejections.groupby(["task", "source"])["entered"].transform("first")
    rejections["share_of_written"] = (rejections["rejected"] / written.where(written > 0)).round(4)
    run_id, path = store.create_entry(record, task=",".join(record.tasks), policy=",".join(record.writers),
                                      seed=record.seed)
    atomic_parquet(questions, path / "questions.parquet")
    atomic_parquet(rejections, path / "rejections.parquet")
    sizes = {f"{t}/{s}": int(n) for (t, s), n in questions.groupby(["task", "split"]).size().items()}
    store.update(run_id, status="finished", seconds=round(time.perf_counter() - start, 2),
                 metrics=json.dumps({"questions": len(questions), **sizes}))
    return run_id, questions, rejections


def load_questions(store: RunStore, dataset: str) -> pd.DataFrame:
    """A dataset entry's questions; a run that is no fact-question dataset is one line naming it."""
    if store.kind(dataset) != "factqa" or not (store.root / dataset / "questions.parquet").is_file():
        raise AgoraError(f"run {dataset!r} in store {store.root} is not a fact-question dataset (build one with "
                         "`agora factqa build`)")
    return pd.read_parquet(store.root / dataset / "questions.parquet")


# --- the eval ----------------------------------------------------------------------------------------------

def eval_prompt(q: FactQuestion, anchor: Anchor, spec: TaskSpec, variant: str) -> Chat:
    """closed_book: the question and its subject's name; in_context: the anchor's text first."""
    ask = f"Question: {q.question}\nAnswer in a few words."
    if variant == "closed_book":
        return [{"role": "user", "content": f"{spec.subject.capitalize()}: {q.subject}\n{ask}"}]
    return [{"role": "user", "content": f"{spec.source_name.capitalize()}:\n{anchor.text}\n\n{ask}"}]


_PREFIX = re.compile(r"^\s*(?:answer\s*:|a\s*:)\s*", re.I)
MAX_REPLY_WORDS = 25  # a longer first line is not an answer: a reply that copies the text would state every fact


def score(reply: str, answer: str) -> tuple[bool, bool]:
    """(exact, correct): the reply's first line, less an "Answer:" prefix, equals the answer once normalised; or it
    states the answer (`fact_qa.states`) in at most `MAX_REPLY_WORDS` words."""
    line = next((ln for ln in reply.strip().splitlines() if ln.strip()), "")
    line = _PREFIX.sub("", line)
    exact = bool(tokens(answer)) and tokens(line) == tokens(answer)
    return exact, exact or (len(line.split()) <= MAX_REPLY_WORDS and states(line, answer))


def ask(policy_spec: str, questions: list[FactQuestion], anchors: dict, scenarios: Scenarios, variants: list[str],
        sampling: Sampling, say: Say = _quiet) -> pd.DataFrame:
    """One policy's answers to every question in each variant, scored."""
    policy = load_policy(policy_spec, scenarios=scenarios)
    if policy.style != "chat":
        raise AgoraError(f"--policy {policy_spec!r} writes slot signatures, not answers (a control); give a language model")
    backend = CachedBackend(policy.backend, CallCache())
    rows = []
    for variant in variants:
        say(f"{policy_spec}: {variant}, {len(questions)} questions")
        start, hits = time.perf_counter(), backend.hits
        prompts = [eval_prompt(q, anchors[q.task, q.anchor_id], scenarios.task(q.task), variant) for q in questions]
        replies = backend.generate(prompts, sampling)
        seconds, cached = time.perf_counter() - start, (backend.hits - hits) / max(len(questions), 1)
        for q, reply in zip(questions, replies):
            exact, correct = score(reply, q.answer)
            rows.append({"policy": policy_spec, "variant": variant, "task": q.task, "anchor_id": q.anchor_id,
                         "fact": q.fact, "source": q.source, "question": q.question, "answer": q.answer,
                         "reply": str(reply), "exact": exact, "correct": correct,
                         "seconds": seconds / max(len(questions), 1), "cached": cached})
    return pd.DataFrame(rows)


def accuracy_table(answers: pd.DataFrame) -> pd.DataFrame:
    """Per policy, variant and task (and `all`): accuracy with its Wilson 95% CI, exact-match share, wall time and
    the share of replies the call cache served (a cached reply costs no time, so `seconds` is only this run's)."""
    out = []
    for (policy, variant), group in answers.groupby(["policy", "variant"], sort=False):
        for task, g in [*group.groupby("task"), ("all", group)]:
            k, n = int(g["correct"].sum()), len(g)
            low, high = wilson(k, n)
            out.append({"policy": policy, "variant": variant, "task": task, "questions": n, "correct": k,
                        "accuracy": round(k / n, 4), "low": round(low, 4), "high": round(high, 4),
                        "exact": round(float(g["exact"].mean()), 4), "seconds": round(float(g["seconds"].sum()), 1),
                        "cached": round(float(g["cached"].mean()), 4)})
    return pd.DataFrame(out)


def differences(answers: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Each later policy's accuracy minus the first's, per variant, with a paired bootstrap CI over anchors."""
    policies = list(dict.fromkeys(answers["policy"]))
    out = []
    for variant, group in answers.groupby("variant", sort=False):
        per = group.pivot_table(index=["task", "anchor_id"], columns="policy", values="correct", aggfunc="sum")
        n = group[group["policy"] == policies[0]].groupby(["task", "anchor_id"]).size().reindex(per.index)
        base = per[policies[0]].to_numpy(float)
        for tuned in policies[1:]:
            t = per[tuned].to_numpy(float)
            reps = paired_bootstrap((base, t, n.to_numpy(float)),
                                    lambda b, x, m: (x.sum(1) - b.sum(1)) / m.sum(1), n_boot, seed)
            low, high = percentile_ci(reps)
            out.append({"variant": variant, "base": policies[0], "tuned": tuned, "anchors": len(per),
                        "base_accuracy": round(base.sum() / n.sum(), 4), "tuned_accuracy": round(t.sum() / n.sum(), 4),
                        "difference": round((t.sum() - base.sum()) / n.sum(), 4), "low": round(low, 4),
                        "high": round(high, 4)})
    return pd.DataFrame(out)


def evaluate(record: KnowledgeRecord, store: RunStore, say: Say = _quiet) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """The eval entry: (run id, accuracy table, base -> tuned differences)."""
    if bad := [v for v in record.variants if v not in VARIANTS]:
        raise AgoraError(f"--variant: {bad[0]!r}; use {' or '.join(VARIANTS)}")
    data = load_questions(store, record.dataset)
    data = data[(data["split"] == record.split) & (data["task"].isin(record.tasks) if record.tasks else True)]
    if data.empty:
        raise AgoraError(f"dataset {record.dataset}: no questions with split {record.split!r}"
                         + (f" for task(s) {', '.join(record.tasks)}" if record.tasks else ""))
    source = store.record(record.dataset)
    scenarios = Scenarios.load(getattr(source, "scenarios", None))
    anchors = {(t, a.id): a for t in data["task"].unique() for a in scenarios.anchors(t)}
    if missing := sorted({i for t, i in zip(data["task"], data["anchor_id"]) if (t, i) not in anchors}):
        raise AgoraError(f"dataset {record.dataset}: anchor {missing[0]!r} is not in the scenarios folder "
                         f"{scenarios.root}")
    questions = [FactQuestion(**{k: r[k] for k in FactQuestion.__dataclass_fields__}) for r in data.to_dict("records")]
    sampling = Sampling(temperature=0.0, max_new_tokens=record.max_new_tokens, seed=record.seed)
    answers = pd.concat([ask(p, questions, anchors, scenarios, record.variants, sampling, say) for p in record.policies],
                        ignore_index=True)
    table, diffs = accuracy_table(answers), differences(answers, record.n_boot, record.seed)
    run_id, path = store.create_entry(record, task=",".join(sorted(data["task"].unique())),
                                      policy=",".join(record.policies), seed=record.seed)
    for name, df in (("answers", answers), ("accuracy", table), ("differences", diffs)):
        atomic_parquet(df, path / f"{name}.parquet")
    store.update(run_id, status="finished", seconds=round(float(answers["seconds"].sum()), 2),
                 metrics=json.dumps({"questions": len(questions), "rows": len(answers)}))
    return run_id, table, diffs

