"""The reasoning modules as competitor capabilities.

Only Delethink fits the seam: it changes what a competitor sees before it writes. TRM solves fixed-size grid
puzzles and AHN changes a model's attention layers; neither acts on a prompt, so neither is registered.
"""

from __future__ import annotations

from dataclasses import asdict

import torch

from agora.reasoning.delethink import DelethinkConfig, delethink, hf_generator
from agora.sim.backends.base import Prompt
from agora.sim.registry import capabilities
from agora.sim.schema import Anchor, TaskSpec


@capabilities.register("delethink")
class DelethinkCapability:
    """A competitor that thinks in Delethink chunks before it writes.

    The thinking runs on `backend` (an `HFBackend`: Delethink needs its tokenizer and model) — in a run, the
    competitor's own; built by hand without one, the embedded tiny model, loaded on first use. The last `keep_tokens` tokens of the trace go into the prompt:
    in a chat, appended to the last user message; in a plain prompt, in front of it inside <think> tags.
    """

    name = "delethink"

    def __init__(self, backend=None, config: DelethinkConfig | None = None, keep_tokens: int = 64,
                 temperature: float = 0.7, seed: int = 0):
        self.config = config or DelethinkConfig(chunk_size=96, carryover=48, iterations=3, head=8)
        self.keep_tokens = keep_tokens
        self.temperature = temperature
        self.seed = seed
        self._backend = backend
        self.traces: list[dict] = []

    @property
    def backend(self):
        if self._backend is None:
            from agora.sim.backends.hf import HFBackend
            from agora.sim.backends.spec import local_checkpoint

            self._backend = HFBackend(local_checkpoint("tiny"))
        return self._backend

    def think(self, prompt: Prompt) -> str:
        backend = self.backend
        tok = backend.tokenizer
        query = tok(backend.render(prompt), add_special_tokens=False).input_ids
        generate = hf_generator(backend.model, temperature=self.temperature,
                                eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed * 1_000_003 + len(self.traces))  # reproducible, different per contest
            trace = delethink(generate, query, self.config, tok.eos_token_id)
        self.traces.append({"chunks": len(trace.chunks), "tokens": len(trace.thinking), "finished": trace.finished,
                            "longest_context": trace.longest_context})
        return tok.decode(trace.thinking[-self.keep_tokens:], skip_special_tokens=True).strip()

    def before_write(self, task: TaskSpec, anchor: Anchor, prompt: Prompt) -> Prompt:
        thought = self.think(prompt)
        self.traces[-1]["anchor"] = anchor.id
        if isinstance(prompt, str):
            return f"<think>{thought}</think>\n{prompt}"
        last_user = max(i for i, m in enumerate(prompt) if m["role"] == "user")
        note = f"\n\nYour thinking so far (its last part):\n{thought}"
        return [{**m, "content": m["content"] + note} if i == last_user else m for i, m in enumerate(prompt)]

    def after_outcome(self, task: TaskSpec, outcome) -> None:
        """Delethink keeps nothing across contests: each message gets a fresh trace."""

    def state(self) -> dict:
        return {"config": asdict(self.config), "keep_tokens": self.keep_tokens, "traces": self.traces}

    def restore(self, state: dict) -> None:
        """The traces so far: their count seeds the next one."""
        self.traces = list(state["traces"])
