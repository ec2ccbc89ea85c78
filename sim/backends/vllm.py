"""vLLM's offline engine for large checkpoints on a GPU; the `[gpu]` extra.

Imported lazily so that CPU machines never need vLLM; each prompt gets its own seeded
SamplingParams so results do not depend on how vLLM schedules the batch.
"""

from __future__ import annotations

from pathlib import Path

from agora.sim.backends.base import Completion, Prompt, Sampling, prompt_seeds
from agora.sim.backends.hf import check_checkpoint, checkpoint_identity
from agora.sim.errors import AgoraError


class VLLMBackend:
    def __init__(self, path: str | Path, **engine_args):
        self.path = check_checkpoint(path)
        try:
            from vllm import LLM
        except ImportError:
            raise AgoraError(
                "the vllm backend needs vLLM: install Agora with the GPU extra, pip install -e '.[gpu]'"
            ) from None
        self.identity = checkpoint_identity(self.path)
        engine_args.setdefault("enable_prefix_caching", True)
        self.llm = LLM(model=str(self.path), **engine_args)

    def generate(self, prompts: list[Prompt], sampling: Sampling, seeds: list[int] | None = None) -> list[str]:
        from vllm import SamplingParams

        params = [
            SamplingParams(temperature=sampling.temperature, top_p=sampling.top_p, max_tokens=sampling.max_new_tokens, seed=s)
            for s in prompt_seeds(sampling, len(prompts), seeds)
        ]
        chats = [p for p in prompts if not isinstance(p, str)]
        if chats and len(chats) != len(prompts):
            raise AgoraError("vllm backend: a batch mixes chat and plain prompts; send them separately")
        if chats:
            results = self.llm.chat(chats, params, use_tqdm=False)
        else:
            results = self.llm.generate(prompts, params, use_tqdm=False)
        return [Completion(r.outputs[0].text, r.outputs[0].finish_reason == "length") for r in results]
