"""A local transformers checkpoint (a user's Qwen3-8B on a GPU, or Agora's embedded tiny model).

Nothing is downloaded: `local_files_only=True`, and a missing or non-checkpoint path is an
`AgoraError` naming the path.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from agora.sim.backends.base import Prompt, Sampling, flatten_chat
from agora.sim.errors import AgoraError


def checkpoint_identity(path: Path) -> str:
    """`name@hash` of the checkpoint's config and weights index: changes when the model does."""
    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors.index.json", "adapter_config.json", "agora_tiny.json"):
        if (path / name).is_file():
            digest.update((path / name).read_bytes())
    weights = sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin"))
    for w in weights[:4]:
        stat = w.stat()
        digest.update(f"{w.name}:{stat.st_size}".encode())
        with w.open("rb") as f:
            digest.update(f.read(1 << 16))
    return f"{path.name}@{digest.hexdigest()[:12]}"


def check_checkpoint(path: str | Path) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise AgoraError(f"model path {str(p)!r} does not exist")
    if not ((p / "config.json").is_file() or (p / "adapter_config.json").is_file()):
        raise AgoraError(f"model path {str(p)!r} is not a transformers checkpoint (no config.json or adapter_config.json in it)")
    return p


class HFBackend:
    """Batched `generate` over a local checkpoint, left-padded, seeded per batch."""

    def __init__(self, path: str | Path, *, batch_size: int = 32, device: str | None = None, dtype: str = "auto"):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.path = check_checkpoint(path)
        self.identity = checkpoint_identity(self.path)
        self.batch_size = batch_size
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True, padding_side="left")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(self.path, local_files_only=True, dtype=dtype)
        self.model.to(self.device).eval()

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def render(self, prompt: Prompt) -> str:
        if isinstance(prompt, str) or not self.has_chat_template:
            return flatten_chat(prompt)
        return self.tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)

    @torch.inference_mode()
    def generate(self, prompts: list[Prompt], sampling: Sampling) -> list[str]:
        texts = [self.render(p) for p in prompts]
        out: list[str] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            enc = self.tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
            with torch.random.fork_rng(devices=[] if self.device == "cpu" else None):
                torch.manual_seed(sampling.seed * 1_000_003 + start)
                ids = self.model.generate(
                    **enc,
                    do_sample=sampling.temperature > 0,
                    temperature=sampling.temperature if sampling.temperature > 0 else None,
                    top_p=sampling.top_p if sampling.temperature > 0 else None,
                    max_new_tokens=sampling.max_new_tokens,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new = ids[:, enc["input_ids"].shape[1] :]
            out.extend(self.tokenizer.batch_decode(new, skip_special_tokens=True))
        return out

    @torch.inference_mode()
    def hidden_states(self, texts: list[str], batch_size: int = 16):
        """Per layer, the mean-pooled hidden state of each text: an array [layers + 1, n, width]."""
        import numpy as np

        self.tokenizer.padding_side = "right"
        try:
            pooled = []
            for start in range(0, len(texts), batch_size):
                enc = self.tokenizer(texts[start : start + batch_size], return_tensors="pt", padding=True).to(self.device)
                layers = self.model(**enc, output_hidden_states=True).hidden_states
                mask = enc["attention_mask"].unsqueeze(-1).float()
                pooled.append(torch.stack([(h.float() * mask).sum(1) / mask.sum(1) for h in layers]).cpu().numpy())
            return np.concatenate(pooled, axis=1)
        finally:
            self.tokenizer.padding_side = "left"

