"""A local transformers checkpoint (a user's Qwen3-8B on a GPU, the embedded SmolLM2, or the slot-grammar control).

Nothing is downloaded: `local_files_only=True`, and a missing or non-checkpoint path is an
`AgoraError` naming the path.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from agora.sim.backends.base import Completion, Prompt, Sampling, flatten_chat, prompt_seeds
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


class RowSeededSampler:
    """A logits processor that makes greedy decoding sample each row from its own generator (the Gumbel-max
    trick: argmax(logits / T + Gumbel noise) is a draw from softmax(logits / T)), after transformers' own top-p.
    `generate(do_sample=True)` draws every row from one global generator, so a completion would depend on its
    batch-mates; with one generator per row it depends only on its prompt and seed — what a cache key needs."""

    def __init__(self, seeds: list[int], temperature: float, top_p: float):
        from transformers import TemperatureLogitsWarper, TopPLogitsWarper

        self.generators = [torch.Generator().manual_seed(s) for s in seeds]
        self.warpers = [TemperatureLogitsWarper(temperature)] + ([TopPLogitsWarper(top_p)] if top_p < 1 else [])

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        scores = scores.float()
        for warp in self.warpers:
            scores = warp(input_ids, scores)
        uniform = torch.stack([torch.rand(scores.shape[-1], generator=g) for g in self.generators]).to(scores.device)
        return scores - torch.log(-torch.log(uniform.clamp_min(1e-20)))


class HFBackend:
    """Batched `generate` over a local checkpoint, left-padded, each prompt sampled from its own seed."""

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
    def generate(self, prompts: list[Prompt], sampling: Sampling, seeds: list[int] | None = None) -> list[str]:
        from transformers import LogitsProcessorList

        texts = [self.render(p) for p in prompts]
        seeds = prompt_seeds(sampling, len(texts), seeds)
        out: list[str] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            enc = self.tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
            sampler = ([RowSeededSampler(seeds[start : start + len(batch)], sampling.temperature, sampling.top_p)]
                       if sampling.temperature > 0 else [])
            ids = self.model.generate(
                **enc,
                do_sample=False,  # greedy over the sampler's perturbed scores: a per-row seeded sample
                logits_processor=LogitsProcessorList(sampler),
                max_new_tokens=sampling.max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
            )
            new = ids[:, enc["input_ids"].shape[1] :]
            # a row that used every new token without ending (no EOS, no padding after it) was cut off
            stops = torch.tensor([t for t in {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id} if t is not None], device=new.device)
            ended = torch.isin(new, stops).any(dim=1).tolist()
            cut = [new.shape[1] >= sampling.max_new_tokens and not e for e in ended]
            out.extend(Completion(t, c) for t, c in zip(self.tokenizer.batch_decode(new, skip_special_tokens=True), cut))
        return out

    @torch.inference_mode()
    def option_logprobs(self, prompts: list[Prompt], options: list[str]) -> list[dict[str, float]]:
        """Per prompt, the log-probability of each option's first token as the reply's first token: a vote read
        from the logits, with no text to parse. One forward pass per batch, left-padded so the last position is
        the reply's start."""
        first = {o: self.tokenizer.encode(o, add_special_tokens=False)[0] for o in options}
        texts, out = [self.render(p) for p in prompts], []
        for start in range(0, len(texts), self.batch_size):
            enc = self.tokenizer(texts[start:start + self.batch_size], return_tensors="pt", padding=True,
                                 add_special_tokens=False).to(self.device)
            positions = (enc["attention_mask"].cumsum(-1) - 1).clamp(min=0)  # as generate does: padding takes no position
            logprobs = self.model(**enc, position_ids=positions).logits[:, -1, :].float().log_softmax(-1).cpu()
            out += [{o: float(row[t]) for o, t in first.items()} for row in logprobs]
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

