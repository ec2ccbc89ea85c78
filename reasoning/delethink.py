"""Delethink (Aghajohari et al. 2025, "The Markovian Thinker"): think in fixed-size chunks with a bounded carry-over.

A trace is generated in chunks of C tokens. After each chunk the context is thrown away (the KV cache with it:
every chunk is a fresh `generate` call) and the next prompt is rebuilt from the query, the first `head` tokens
of the first chunk (where the model usually restates the problem) and the last m − head tokens of the previous
chunk. Later chunks therefore start with m carried tokens and write C − m new ones, so thinking can run to
C + (I − 1)(C − m) tokens while no forward pass ever sees more than |query| + C tokens: compute grows linearly
in the thinking length and memory stays constant, where one long generation grows quadratically and linearly.

Training (the paper's RL objective) treats a trace as one sample: every chunk shares the trace's GRPO advantage
and the per-token losses of all its chunks are summed and divided by the trace's total length.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from agora.sim.errors import AgoraError

# (prompt token ids, max new tokens) -> new token ids, ending with eos if the model stopped
TokenGenerator = Callable[[list[int], int], list[int]]


@dataclass(frozen=True)
class DelethinkConfig:
    """Chunk size, carry-over and iteration cap (paper defaults: C 8192, m 4096, I 5, head 100)."""

    chunk_size: int = field(default=8192, metadata={"help": "C: tokens of thought per chunk"})
    carryover: int | None = field(default=None, metadata={"help": "m: tokens carried into the next chunk (default C/2)"})
    iterations: int = field(default=5, metadata={"help": "I: the most chunks one trace may use"})
    head: int = field(default=100, metadata={"help": "tokens of the first chunk kept in every later prompt (part of m)"})

    def __post_init__(self):
        if self.carryover is None:
            object.__setattr__(self, "carryover", self.chunk_size // 2)
        if self.chunk_size < 1:
            raise AgoraError(f"chunk_size must be >= 1, got {self.chunk_size}")
        if not 0 <= self.carryover < self.chunk_size:
            raise AgoraError(f"carryover must be in [0, chunk_size={self.chunk_size}), got {self.carryover}")
        if not 0 <= self.head <= self.carryover:
            raise AgoraError(f"head must be in [0, carryover={self.carryover}], got {self.head}")
        if self.iterations < 1:
            raise AgoraError(f"iterations must be >= 1, got {self.iterations}")

    @property
    def budget(self) -> int:
        """The most thinking tokens one trace can hold: C + (I − 1)(C − m)."""
        return self.chunk_size + (self.iterations - 1) * (self.chunk_size - self.carryover)


def next_prompt(query: Sequence[int], first_chunk: Sequence[int], previous: Sequence[int], config: DelethinkConfig) -> list[int]:
    """Query + first `head` tokens of the first chunk + last m − head tokens of the previous chunk."""
    tail = config.carryover - config.head
    carried = list(previous[len(previous) - tail:]) if tail else []  # previous[-0:] would keep everything
    return [*query, *first_chunk[: config.head], *carried]


@dataclass
class DelethinkTrace:
    """What one Delethink run produced: per chunk, the prompt it saw and the tokens it wrote."""

    prompts: list[list[int]]
    chunks: list[list[int]]
    finished: bool  # stopped on end of sequence, not on the iteration cap

    @property
    def thinking(self) -> list[int]:
        """The whole trace as the reader sees it: every chunk's new tokens, in order."""
        return [t for chunk in self.chunks for t in chunk]

    @property
    def longest_context(self) -> int:
        """The most tokens any single forward pass attended to (prompt + its chunk)."""
        return max(len(p) + len(c) for p, c in zip(self.prompts, self.chunks))


def delethink(generate: TokenGenerator, query: Sequence[int], config: DelethinkConfig, eos_token_id: int | None) -> DelethinkTrace:
    """Run chunked thinking with any token generator; stop on eos or after `iterations` chunks."""
    prompts, chunks = [list(query)], []
    for i in range(config.iterations):
        # the first chunk writes C tokens; a later one already holds m carried tokens and writes C − m
        new = generate(prompts[-1], config.chunk_size if i == 0 else config.chunk_size - config.carryover)
        chunks.append(new)
        if eos_token_id is not None and new and new[-1] == eos_token_id:
            return DelethinkTrace(prompts, chunks, finished=True)
        if i + 1 < config.iterations:
            prompts.append(next_prompt(query, chunks[0], new, config))
    return DelethinkTrace(prompts, chunks, finished=False)


def hf_generator(model, *, temperature: float = 0.0, top_p: float = 1.0, eos_token_id: int | None = None,
                 pad_token_id: int | None = None) -> TokenGenerator:
    """A `TokenGenerator` over a transformers causal LM: each call is a fresh `generate`, so no KV cache survives."""

    @torch.inference_mode()
    def generate(prompt: list[int], max_new_tokens: int) -> list[int]:
        ids = torch.tensor([prompt], device=model.device)
        out = model.generate(
            ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens, do_sample=temperature > 0,
            temperature=temperature if temperature > 0 else None, top_p=top_p if temperature > 0 else None,
            eos_token_id=eos_token_id, pad_token_id=pad_token_id,
        )
        return out[0, ids.shape[1]:].tolist()

    return generate


def delethink_loss(per_token_logps: torch.Tensor, old_per_token_logps: torch.Tensor, advantages: torch.Tensor,
                   completion_mask: torch.Tensor, trace_ids: torch.Tensor, *, epsilon_low: float = 0.2,
                   epsilon_high: float = 0.2, beta: float = 0.0, ref_per_token_logps: torch.Tensor | None = None) -> torch.Tensor:
    """The chunk-summed clipped GRPO objective, as a loss to minimise.

    Shapes follow TRL's `GRPOTrainer._compute_loss`, with one row per *chunk*: `per_token_logps`,
    `old_per_token_logps`, `completion_mask` and `ref_per_token_logps` are (B, T) over each chunk's new tokens,
    `advantages` is (B,), and `trace_ids` (B,) says which trace each chunk belongs to. Every chunk of a trace
    must carry the trace's one advantage. Per trace: the sum over its chunks of the per-token losses, divided
    by the trace's total length; then the mean over traces.
    """
    traces, trace_ids = torch.unique(trace_ids, return_inverse=True)
    shared = advantages.new_empty(len(traces)).scatter_(0, trace_ids, advantages)  # one chunk's advantage per trace
    if not torch.allclose(shared[trace_ids], advantages):
        raise AgoraError("advantages must be equal for all chunks of a trace (one GRPO advantage per trace)")
    mask = completion_mask.to(per_token_logps.dtype)
    ratio = torch.exp(per_token_logps - old_per_token_logps)
    clipped = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high)
    adv = advantages.unsqueeze(1)
    per_token_loss = -torch.min(ratio * adv, clipped * adv)
    if beta:
        delta = ref_per_token_logps - per_token_logps  # TRL's k3 estimator of KL(policy || reference)
        per_token_loss = per_token_loss + beta * (torch.exp(delta) - delta - 1)
    summed = torch.zeros(len(traces), dtype=per_token_loss.dtype).index_add(0, trace_ids, (per_token_loss * mask).sum(1))
    lengths = torch.zeros(len(traces), dtype=mask.dtype).index_add(0, trace_ids, mask.sum(1))
    return (summed / lengths.clamp(min=1)).mean()
