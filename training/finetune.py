"""One supervised fine-tune on prompt/completion rows with TRL's SFTTrainer, full or LoRA (peft).

The output is a checkpoint `--policy hf:PATH` accepts: full weights for the slot-grammar control (its
`agora_tiny.json` is carried over, so it keeps writing slots), or a LoRA adapter for a pretrained base (its
`agora_model.json` is carried over: provenance and prompt format).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from agora.sim.backends.embedded import MODEL_MANIFEST, model_manifest
from agora.sim.errors import AgoraError
from agora.sim.paths import atomic_dir
from agora.sim.tiny.control import MANIFEST, manifest
from agora.training.config import TrainConfig


def lora_config(model, config: TrainConfig):
    """A peft LoraConfig whose targets are checked against the model's modules first."""
    from peft import LoraConfig

    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [t for t in config.lora_targets if t not in names]
    if missing:
        linear = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if type(m).__name__ == "Linear"})
        raise AgoraError(
            f"LoRA target module(s) {', '.join(missing)} do not exist in this model; its linear layers are: {', '.join(linear)}"
        )
    return LoraConfig(
        r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
        target_modules=config.lora_targets, task_type="CAUSAL_LM",
    )


def check_lora_targets(base: Path, config: TrainConfig) -> None:
    """Fail before any run is written: build the architecture on the meta device (no weights) and check targets."""
    if not config.lora:
        return
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(base, local_files_only=True))
    lora_config(model, config)


def trainable(base: Path, config: TrainConfig):
    """(the model to train from `base`, the LoRA config to wrap it in; None when there is none to add).

    An earlier round's checkpoint is a LoRA adapter. Wrapped in a new LoRA it would be replaced: the new adapter takes
    its name and starts at zero, so the round would train from the base model again and its checkpoint would hold that
    round alone. Its adapter is trained on instead (LoRA), or merged into the weights (a full fine-tune)."""
    from transformers import AutoModelForCausalLM

    adapter = base / "adapter_config.json"
    if not adapter.is_file():
        model = AutoModelForCausalLM.from_pretrained(base, local_files_only=True, dtype="auto")
        return model, lora_config(model, config) if config.lora else None
    from peft import PeftModel

    root = Path(json.loads(adapter.read_text()).get("base_model_name_or_path") or "")
    if not (root / "config.json").is_file():
        raise AgoraError(f"{adapter}: base_model_name_or_path {str(root)!r} is not a model folder on this machine; "
                         "the adapter cannot be trained on without its base")
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(root, local_files_only=True, dtype="auto"),
                                      base, is_trainable=config.lora)
    return (model, None) if config.lora else (model.merge_and_unload(), None)


def schedule(config: TrainConfig, cuda: bool) -> dict:
    """The trainer settings RFT and GRPO share: the study's cosine to a floor after a warm-up, bf16 on a GPU. TRL
    checkpoints activations by default: memory an 8B model on a GPU needs, time a CPU run does not have."""
    return {"learning_rate": config.learning_rate, "lr_scheduler_type": "cosine_with_min_lr",
            "lr_scheduler_kwargs": {"min_lr_rate": config.min_lr_ratio}, "warmup_steps": config.warmup_ratio,
            "bf16": cuda, "use_cpu": not cuda, "gradient_checkpointing": cuda}


def fine_tune(base: Path, rows: list[dict], config: TrainConfig, out: Path, lineage: dict) -> dict:
    """Train on `rows` (prompt, completion) from `base`; save to `out` atomically; return training stats."""
    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    if not rows:
        raise AgoraError("no training examples")
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model, peft_config = trainable(base, config)
    cuda = torch.cuda.is_available()
    with atomic_dir(out) as work:
        args = SFTConfig(
            output_dir=str(work / "trainer"),
            num_train_epochs=config.epochs,
            per_device_train_batch_size=config.micro_batch,
            gradient_accumulation_steps=config.batch_size // config.micro_batch,
            **schedule(config, cuda),
            seed=config.seed,
            save_strategy="no",
            report_to=[],
            logging_steps=5,
            dataloader_num_workers=0,
        )
        dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
        trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer, peft_config=peft_config)
        started = time.perf_counter()
        result = trainer.train()
        seconds = time.perf_counter() - started
        stats = {
            "examples": len(rows), "steps": int(result.global_step), "loss": round(result.training_loss, 4),
            "seconds": round(seconds, 1), "lora": bool(config.lora),
            "tokens_per_second": round(config.epochs * sum(map(len, trainer.train_dataset["input_ids"])) / seconds, 1),
        }
        save_checkpoint(trainer, tokenizer, work, base, {**lineage, **stats})
    return stats


def save_checkpoint(trainer, tokenizer, work: Path, base: Path, fine_tuned: dict) -> None:
    """The tuned weights and tokenizer, without the trainer's scratch, and the base's provenance and prompt format
    with how it was tuned: what makes the checkpoint a policy (`hf:` + the folder)."""
    trainer.model.save_pretrained(work)
    tokenizer.save_pretrained(work)
    shutil.rmtree(work / "trainer", ignore_errors=True)
    for name, info in ((MANIFEST, manifest(base)), (MODEL_MANIFEST, model_manifest(base))):
        if info:
            (work / name).write_text(json.dumps({**info, "fine_tuned": fine_tuned}, indent=2))
