"""Build the embedded policy: corpus -> BPE tokenizer -> Llama-architecture model -> TRL SFT.

Everything is local and seeded; the checkpoint is cached under `$AGORA_HOME/models/` keyed by
a hash of the config, the phrase banks and the anchors, so a change to any of them rebuilds.
The result is an ordinary transformers checkpoint that `HFBackend` loads; `agora_tiny.json`
beside it says that it writes slot tokens and records the corpus mix it was trained on.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agora.sim.errors import AgoraError
from agora.sim.paths import agora_home, atomic_dir
from agora.sim.instructions import with_instruction
from agora.sim.scenario import TASKS, Scenarios
from agora.sim.tiny.grammar import load_bank, load_instructions, write_document
from agora.sim.tiny.slots import SLOT_TYPES, available, signature, slot_tokens

MANIFEST = "agora_tiny.json"
FORMAT_VERSION = 1
CONTROL_TOKENS = ["<pad>", "<eos>", "<msg>", *(f"<{t}>" for t in TASKS)]


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


def corpus(scenarios: Scenarios, config: TinyConfig) -> list[dict]:
    """Prompt/completion pairs over all tasks: a signature prompt and a slotted message."""
    rng = random.Random(config.seed)
    banks = {t: load_bank(scenarios.root / "corpus", t) for t in TASKS}
    instructions = load_instructions(scenarios.root / "corpus")
    anchors = {t: scenarios.anchors(t, "train") for t in TASKS}
    rows = []
    for i in range(config.corpus_size):
        task = TASKS[i % len(TASKS)]
        if rng.random() < config.real_anchor_share:
            counts = available(task, rng.choice(anchors[task]))
        else:
            counts = {k: (1 if n == 1 else rng.randint(0, n)) for k, n in SLOT_TYPES[task].items()}
        doc = write_document(banks[task], counts, rng)
        instruction = instructions.pick(doc.behaviours, rng)
        if doc.raw:
            rows.append(
                {
                    "prompt": with_instruction(signature(task, counts) + " <msg>", instruction),
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
    for task in TASKS:
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
    return sorted((scenarios.root / "corpus").glob("*.yaml")) + sorted((scenarios.root / "anchors").glob("*.yaml"))


def tiny_path(scenarios: Scenarios, config: TinyConfig, home: Path | None = None) -> Path:
    return (home or agora_home()) / "models" / f"tiny-{cache_key(config, data_files(scenarios))}"


def ensure_tiny(scenarios: Scenarios, config: TinyConfig | None = None, home: Path | None = None) -> Path:
    """The cached checkpoint for this config, built first if it is missing."""
    config = config or TinyConfig()
    path = tiny_path(scenarios, config, home)
    if not (path / MANIFEST).is_file():
        build(scenarios, config, path)
    return path


def build_tokenizer(texts: list[str], config: TinyConfig, added: list[str]):
    """Byte-level BPE with the control tokens special and each `added` token (slots) one non-special token."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size - len(added),
        special_tokens=CONTROL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    tok.add_tokens([AddedToken(s, special=False, normalized=False) for s in added])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")


def build(scenarios: Scenarios, config: TinyConfig, out: Path) -> Path:
    """The embedded policy: slotted messages over all tasks."""
    rows = corpus(scenarios, config)
    slots = [s for t in TASKS for s in slot_tokens(t)]
    info = {"format": "slots", "tasks": list(TASKS), "corpus_mix": corpus_mix(rows)}
    return train_checkpoint(rows, config, out, slots, info)


def train_checkpoint(rows: list[dict], config: TinyConfig, out: Path, added: list[str], info: dict) -> Path:
    """Train tokenizer and a Llama-architecture model on prompt/completion rows; save atomically to `out`."""
    import torch
    from datasets import Dataset
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl import SFTConfig, SFTTrainer

    tokenizer = build_tokenizer([r["prompt"] + r["completion"] for r in rows], config, added)
    model_config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads,
        max_position_embeddings=max(512, config.max_length),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    torch.manual_seed(config.seed)
    # bf16 weights: 1.8x faster per step than fp32 on this class of CPU (DESIGN.md)
    model = LlamaForCausalLM(model_config).to(torch.bfloat16)
    with atomic_dir(out) as work:
        args = SFTConfig(
            output_dir=str(work / "trainer"),
            max_steps=config.steps,
            per_device_train_batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            lr_scheduler_type="cosine",
            warmup_steps=0.05,
            max_length=config.max_length,
            logging_steps=max(1, config.steps // 10),
            save_strategy="no",
            report_to=[],
            use_cpu=not torch.cuda.is_available(),
            seed=config.seed,
            dataloader_num_workers=0,
        )
        dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
        trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
        result = trainer.train()
        model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.save_pretrained(work)
        tokenizer.save_pretrained(work)
        shutil.rmtree(work / "trainer", ignore_errors=True)
        info = {
            **info,
            "format_version": FORMAT_VERSION,
            "config": asdict(config),
            "parameters": sum(p.numel() for p in model.parameters()),
            "train_loss": round(result.training_loss, 4),
            "train_seconds": round(result.metrics.get("train_runtime", 0.0), 1),
            "corpus_documents": len(rows),
        }
        (work / MANIFEST).write_text(json.dumps(info, indent=2))
    return out


def manifest(path: Path) -> dict | None:
    """The manifest of a checkpoint built by Agora, or None for an ordinary checkpoint."""
    f = Path(path) / MANIFEST
    return json.loads(f.read_text()) if f.is_file() else None


def writes_slots(path: Path) -> bool:
    """Does this checkpoint write slot tokens (the embedded policy and models trained from it)?"""
    info = manifest(path)
    return bool(info) and info.get("format") == "slots"
