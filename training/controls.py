"""Build the slot-grammar control: corpus -> BPE tokenizer -> Llama-architecture model -> TRL SFT.

Everything is local and seeded (`agora.sim.tiny.control` holds the config, corpus and cache key). Importing this
module registers the `tiny` backend kind, so `sim/` runs the control without importing training.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

from agora.sim.backends.spec import BackendKind, backend_kinds, default_scenarios, hf_loader
from agora.sim.paths import atomic_dir, ensure_built
from agora.sim.scenario import Scenarios
from agora.sim.tiny.control import (CONTROL_TOKENS, FORMAT_VERSION, MANIFEST, TinyConfig, control_tasks, control_tokens,
                                    corpus, corpus_mix, tiny_path)
from agora.sim.tiny.slots import slot_tokens


def ensure_tiny(scenarios: Scenarios, config: TinyConfig | None = None, home: Path | None = None) -> Path:
    """The cached checkpoint for this config, built first if it is missing."""
    config = config or TinyConfig()
    path = tiny_path(scenarios, config, home)
    return ensure_built(path, lambda: build(scenarios, config, path), MANIFEST)


def build_tokenizer(texts: list[str], config: TinyConfig, added: list[str], special: list[str] = CONTROL_TOKENS):
    """Byte-level BPE with the `special` tokens and each `added` token (slots) one non-special token."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size - len(added),
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    tok.add_tokens([AddedToken(s, special=False, normalized=False) for s in added])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")


def control_slots(scenarios: Scenarios) -> list[str]:
    """Each control task's slot tokens, a slot two kinds share listed twice: the BPE budget is vocab_size minus this
    count, as every control checkpoint was built (the tokenizer adds a repeated token once)."""
    return [s for spec in control_tasks(scenarios) for s in slot_tokens(spec.anchor_kind)]


def build(scenarios: Scenarios, config: TinyConfig, out: Path) -> Path:
    """The embedded policy: slotted messages over all tasks."""
    rows = corpus(scenarios, config)
    tasks = control_tasks(scenarios)
    slots = control_slots(scenarios)
    info = {"format": "slots", "tasks": [spec.name for spec in tasks], "corpus_mix": corpus_mix(rows)}
    return train_checkpoint(rows, config, out, slots, info, control_tokens(scenarios))


def train_checkpoint(rows: list[dict], config: TinyConfig, out: Path, added: list[str], info: dict,
                     special: list[str] = CONTROL_TOKENS) -> Path:
    """Train tokenizer and a Llama-architecture model on prompt/completion rows; save atomically to `out`."""
    import torch
    from datasets import Dataset
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl import SFTConfig, SFTTrainer

    tokenizer = build_tokenizer([r["prompt"] + r["completion"] for r in rows], config, added, special)
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


def control_checkpoint(target: str = "", *, scenarios=None, tiny=None, role: str = "policy") -> Path:
    """The control's checkpoint for a role: the slot-grammar policy, or its distilled judge for a voter."""
    from agora.training.tiny_judge import ensure_judge

    return (ensure_judge if role == "voter" else ensure_tiny)(default_scenarios(scenarios), tiny)


backend_kinds.register("tiny")(BackendKind("tiny", hf_loader(control_checkpoint), takes_target=False,
                                           checkpoint=control_checkpoint))
