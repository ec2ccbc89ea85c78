"""The slot-grammar control as data: its config, its corpus, where its checkpoint is cached and what its manifest says.

The control learns the phrase bank of each task that has its own (`corpus` naming the task itself), on that task's
train anchors; a task that borrows another's bank is written as that task, by the same checkpoint. The checkpoint is
cached under `$AGORA_HOME/models/` keyed by a hash of the config and of the banks and anchors it learns from, so a
change to any of them rebuilds; `agora_tiny.json` beside it says that it writes slot tokens and
records the corpus mix it was trained on. Training it (TRL) is `agora.training.controls`; `sim/` only reads it.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agora.sim.errors import AgoraError
from agora.sim.paths import agora_home
from agora.sim.instructions import with_instruction
from agora.sim.scenario import Scenarios
from agora.sim.schema import ANCHOR_KINDS, TaskSpec
from agora.sim.tiny.grammar import load_bank, load_instructions, write_document
from agora.sim.tiny.slots import available, signature

MANIFEST = "agora_tiny.json"
FORMAT_VERSION = 1
# The special tokens of every checkpoint built here: padding, end, the message mark and the tags of the three tasks
# the control was first built for. A checkpoint keeps them whatever it is trained on, so that rebuilding one gives
# the same tokenizer, and the same model; `control_tokens` adds the tag of any other task whose bank it learns.
CONTROL_TOKENS = ["<pad>", "<eos>", "<msg>", "<sales>", "<election>", "<social>"]


@dataclass
class TinyConfig:
    """Size and training budget of the embedded policy (defaults: DESIGN.md's measured recipe)."""

    hidden_size: int = field(default=256, metadata={"help": "model width"})
    num_layers: int = field(default=4, metadata={"help": "transformer blocks"})
    num_heads: int = field(default=4, metadata={"help": "attention heads"})
    intermediate_size: int = field(default=688, metadata={"help": "MLP width"})
    vocab_size: int = field(default=1500, metadata={"help": "BPE vocabulary incl. slot tokens"})
    max_length: int = field(default=192, metadata={"help": "tokens per training example"})
    corpus_size: int = field(default=24_000, metadata={"help": "generated messages, all tasks together"})
    steps: int = field(default=900, metadata={"help": "optimiser steps"})
    batch_size: int = field(default=32, metadata={"help": "examples per step"})
    learning_rate: float = field(default=2e-3, metadata={"help": "peak learning rate (cosine decay)"})
    real_anchor_share: float = field(default=0.5, metadata={"help": "share of signatures from train anchors"})
    seed: int = field(default=0, metadata={"help": "seed for corpus, init and data order"})

    def __post_init__(self):
        if self.hidden_size % self.num_heads:
            raise AgoraError(f"tiny config: hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}")


def control_tasks(scenarios: Scenarios) -> list[TaskSpec]:
    """The tasks whose phrase banks the control learns, in order: those with a bank of their own."""
    return [spec for spec in map(scenarios.task, scenarios.tasks) if spec.corpus == spec.name]


def control_tokens(scenarios: Scenarios) -> list[str]:
    """The special tokens of the control: `CONTROL_TOKENS` and the tag of each task it learns."""
    return list(dict.fromkeys(CONTROL_TOKENS + [f"<{spec.name}>" for spec in control_tasks(scenarios)]))


def corpus(scenarios: Scenarios, config: TinyConfig) -> list[dict]:
    """Prompt/completion pairs over the control's tasks, taken in turn: a signature prompt and a slotted message."""
    rng = random.Random(config.seed)
    specs = control_tasks(scenarios)
    banks = {s.name: load_bank(scenarios.root / "corpus", s.name, s.anchor_kind) for s in specs}
    instructions = load_instructions(scenarios.root / "corpus")
    anchors = {s.name: scenarios.anchors(s.name, "train") for s in specs}
    rows = []
    for i in range(config.corpus_size):
        spec = specs[i % len(specs)]
        task = spec.name
        if rng.random() < config.real_anchor_share:
            counts = available(rng.choice(anchors[task]))
        else:
            slots = ANCHOR_KINDS[spec.anchor_kind][0].SLOTS
            counts = {k: (1 if n == 1 else rng.randint(0, n)) for k, n in slots.items()}
        doc = write_document(banks[task], counts, rng)
        instruction = instructions.pick(doc.behaviours, rng)
        if doc.raw:
            rows.append(
                {
                    "prompt": with_instruction(signature(task, spec.anchor_kind, counts) + " <msg>", instruction),
                    "instruction": instruction,
                    "completion": " " + doc.raw,
                    "task": task,
                    "style": doc.style,
                    "behaviours": sorted(doc.behaviours),
                }
            )
    return rows


def corpus_mix(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Share of documents per behaviour, per task: the base model's documented character."""
    out = {}
    for task in dict.fromkeys(r["task"] for r in rows):
        docs = [r for r in rows if r["task"] == task]
        counts = Counter(b for r in docs for b in r["behaviours"])
        out[task] = {b: round(c / len(docs), 3) for b, c in sorted(counts.items())}
    return out


def cache_key(config: TinyConfig, files: list[Path], kind: str = "tiny") -> str:
    """Hash of the kind, the config and the data files a checkpoint is built from."""
    digest = hashlib.sha256(json.dumps({"v": FORMAT_VERSION, "kind": kind, **asdict(config)}, sort_keys=True).encode())
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def data_files(scenarios: Scenarios) -> list[Path]:
    """The files the control's corpus is written from: its tasks' banks, the instructions, its tasks' anchors. A task
    that borrows a bank adds no file, so a folder with one more such task keeps the same checkpoint."""
    specs = control_tasks(scenarios)
    corpus_dir = scenarios.root / "corpus"
    banks = [corpus_dir / f"{s.name}.yaml" for s in specs] + [p for p in [corpus_dir / "instructions.yaml"] if p.is_file()]
    return sorted(banks) + sorted({scenarios.root / s.anchors for s in specs})


def tiny_path(scenarios: Scenarios, config: TinyConfig, home: Path | None = None) -> Path:
    return (home or agora_home()) / "models" / f"tiny-{cache_key(config, data_files(scenarios))}"


def manifest(path: Path) -> dict | None:
    """The manifest of a checkpoint built by Agora, or None for an ordinary checkpoint."""
    f = Path(path) / MANIFEST
    return json.loads(f.read_text()) if f.is_file() else None


def writes_slots(path: Path) -> bool:
    """Does this checkpoint write slot tokens (the embedded policy and models trained from it)?"""
    info = manifest(path)
    return bool(info) and info.get("format") == "slots"
