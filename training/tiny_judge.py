"""The tiny judge: a small LM that votes in the study's format, for the `llm` audience on a CPU.

An untrained tiny model cannot read a biography and two messages and answer
`<think>…</think><vote>A</vote>`. So Agora distils one from the parametric audience: the full
voter prompt (biography included) in, the parametric persona's thought and vote out. Its
agreement with the audience it imitates is measured and saved in its manifest; the `llm` path
(prompt -> batched generate -> parse -> retry -> abstain) then runs for real.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

from agora.sim.audience.base import Ballot
from agora.sim.audience.llm import parse_vote, voter_prompt
from agora.sim.audience.parametric import ParametricAudience
from agora.sim.backends.base import Sampling, flatten_chat
from agora.sim.paths import agora_home, ensure_built
from agora.sim.store import atomic_json
from agora.sim.scenario import Scenarios
from agora.sim.tiny.control import MANIFEST, TinyConfig, cache_key, control_tasks, data_files
from agora.sim.tiny.grammar import load_bank, write_message
from agora.training.controls import train_checkpoint


def judge_config(policy: TinyConfig) -> TinyConfig:
    """The judge reads ~400-token prompts: longer examples, fewer of them, batches half the policy's (16 for the
    default). Half the policy's steps, and at least 20: a smaller judge than the default's only serves to exercise
    the `llm` path (its parse rate and agreement are in its manifest either way)."""
    return replace(policy, max_length=512, corpus_size=policy.corpus_size // 4, steps=max(20, policy.steps // 2),
                   batch_size=max(4, policy.batch_size // 2))


def judge_rows(scenarios: Scenarios, config: TinyConfig, n: int, seed: int) -> list[dict]:
    """Voter prompts over pairs of grammar-written messages, answered by the parametric audience (the tasks of the
    slot-grammar control, whose banks write the messages)."""
    rng = random.Random(seed)
    audience = ParametricAudience(scenarios.root / "audience" / "parametric.yaml")
    specs = {s.name: s for s in control_tasks(scenarios)}
    banks = {t: load_bank(scenarios.root / "corpus", t, s.anchor_kind) for t, s in specs.items()}
    anchors = {t: scenarios.anchors(t, "train") for t in specs}
    tasks = list(specs)
    personas = scenarios.personas
    rows = []
    for i in range(n):
        task = tasks[i % len(tasks)]
        anchor = rng.choice(anchors[task])
        a, b = (write_message(banks[task], anchor, rng) for _ in range(2))
        ballot = Ballot(rng.choice(personas), a, b)
        verdict = audience.judge(specs[task], anchor, [ballot], seed=rng.randrange(2**31))[0]
        prompt = flatten_chat(voter_prompt(specs[task], ballot))
        rows.append({"prompt": prompt, "completion": f"<think>{verdict.thought}</think><vote>{verdict.vote}</vote>"})
    return rows


def judge_path(scenarios: Scenarios, config: TinyConfig, home: Path | None = None) -> Path:
    files = data_files(scenarios) + [scenarios.root / "personas.yaml", scenarios.root / "audience" / "parametric.yaml"]
    return (home or agora_home()) / "models" / f"judge-{cache_key(judge_config(config), files, 'judge')}"


def ensure_judge(scenarios: Scenarios, policy_config: TinyConfig | None = None, home: Path | None = None) -> Path:
    """The cached tiny judge, distilled and evaluated first if missing."""
    config = judge_config(policy_config or TinyConfig())
    path = judge_path(scenarios, policy_config or TinyConfig(), home)

    def build() -> None:
        rows = judge_rows(scenarios, config, config.corpus_size, config.seed)
        train_checkpoint(rows, config, path, [], {"format": "judge", "distilled_from": "parametric"})
        agreement, parsed = evaluate_judge(path, scenarios, config)
        info = json.loads((path / MANIFEST).read_text())
        info.update({"agreement_with_parametric": agreement, "parse_rate": parsed})
        atomic_json(info, path / MANIFEST)

    return ensure_built(path, build, MANIFEST)


def evaluate_judge(path: Path, scenarios: Scenarios, config: TinyConfig, n: int = 150) -> tuple[float, float]:
    """(share of parsed votes agreeing with the parametric audience, share of replies that parse) on fresh ballots."""
    from agora.sim.backends.hf import HFBackend

    rows = judge_rows(scenarios, config, n, seed=config.seed + 1)
    backend = HFBackend(path)
    replies = backend.generate([r["prompt"] for r in rows], Sampling(temperature=0.0, max_new_tokens=96))
    votes = [parse_vote(r)[0] for r in replies]
    truth = [parse_vote(r["completion"])[0] for r in rows]
    parsed = [(v, t) for v, t in zip(votes, truth) if v]
    agreement = sum(v == t for v, t in parsed) / len(parsed) if parsed else 0.0
    return round(agreement, 3), round(len(parsed) / n, 3)
