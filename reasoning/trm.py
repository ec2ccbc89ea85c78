"""Tiny Recursive Model (Jolicoeur-Martineau 2025, "Less is More: Recursive Reasoning with Tiny Networks").

One 2-layer network f improves an answer y by recursion on a latent z, given the question x:
    z ← f(x + y + z)  n times  (think),   then   y ← f(y + z)  (answer).
One supervision step runs that T times, the first T − 1 without gradient, and returns (y, z) detached; deep
supervision repeats up to `max_steps` steps on the same batch, each with its own loss and optimiser step, so
the model learns to improve any (y, z) it is handed. A halting head on the first position learns, by BCE,
whether the current answer is entirely right; training moves past an example once it says so (q > 0).

Grids are sequences of cell tokens. Two variants of f's token mixing, chosen by name: "mlp" (an MLP along the
sequence, for small fixed grids such as Sudoku) and "attention" (non-causal self-attention).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from agora.sim.errors import AgoraError

VARIANTS = ("mlp", "attention")
GRADIENTS = ("full", "one_step")


@dataclass(frozen=True)
class TRMConfig:
    vocab_size: int = field(metadata={"help": "input/output tokens (0 = padding or empty cell)"})
    seq_len: int = field(metadata={"help": "cells per grid"})
    hidden_size: int = field(default=512, metadata={"help": "width of the network"})
    variant: str = field(default="mlp", metadata={"help": "token mixing: mlp (along the sequence) | attention"})
    num_heads: int = field(default=8, metadata={"help": "attention heads (attention variant)"})
    expansion: float = field(default=4.0, metadata={"help": "SwiGLU width as a multiple of the input"})
    T: int = field(default=3, metadata={"help": "recursions per supervision step (T − 1 without gradient)"})
    n: int = field(default=6, metadata={"help": "latent updates per recursion"})
    max_steps: int = field(default=16, metadata={"help": "deep-supervision steps (N_sup)"})
    gradient: str = field(default="full", metadata={"help": "full: through the last recursion | one_step: HRM's 1-step approximation"})
    halt_exploration: float = field(default=0.1, metadata={"help": "share of examples made to run a random minimum of steps"})
    ema_decay: float = field(default=0.999, metadata={"help": "EMA of the weights used for evaluation"})

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise AgoraError(f"TRM variant must be one of {', '.join(VARIANTS)}, got {self.variant!r}")
        if self.gradient not in GRADIENTS:
            raise AgoraError(f"TRM gradient must be one of {', '.join(GRADIENTS)}, got {self.gradient!r}")
        if self.T < 1 or self.n < 1 or self.max_steps < 1:
            raise AgoraError(f"TRM T, n and max_steps must be >= 1, got T={self.T}, n={self.n}, max_steps={self.max_steps}")
        if self.variant == "attention" and self.hidden_size % self.num_heads:
            raise AgoraError(f"hidden_size {self.hidden_size} must be divisible by num_heads {self.num_heads}")


class SwiGLU(nn.Module):
    def __init__(self, width: int, expansion: float):
        super().__init__()
        inner = round(expansion * width * 2 / 3)
        self.gate_up = nn.Linear(width, 2 * inner, bias=False)
        self.down = nn.Linear(inner, width, bias=False)

    def forward(self, h):
        gate, up = self.gate_up(h).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class SelfAttention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.out = nn.Linear(width, width, bias=False)

    def forward(self, h):
        b, length, _ = h.shape
        q, k, v = self.qkv(h).view(b, length, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        return self.out(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, length, -1))


class SequenceMLP(nn.Module):
    """Token mixing as an MLP across positions (MLP-Mixer): for short grids of fixed size."""

    def __init__(self, length: int, expansion: float):
        super().__init__()
        self.mlp = SwiGLU(length, expansion)

    def forward(self, h):
        return self.mlp(h.transpose(1, 2)).transpose(1, 2)


class Block(nn.Module):
    """Post-norm residual block (as the reference): mix tokens, then a channel SwiGLU."""

    def __init__(self, config: TRMConfig, length: int):
        super().__init__()
        self.mix = SequenceMLP(length, config.expansion) if config.variant == "mlp" else SelfAttention(config.hidden_size, config.num_heads)
        self.mlp = SwiGLU(config.hidden_size, config.expansion)
        self.norm = nn.RMSNorm(config.hidden_size, elementwise_affine=False)

    def forward(self, h):
        h = self.norm(h + self.mix(h))
        return self.norm(h + self.mlp(h))


class TRM(nn.Module):
    def __init__(self, config: TRMConfig):
        super().__init__()
        self.config = config
        d, length = config.hidden_size, config.seq_len + 1  # position 0: where the halting head reads
        self.embed = nn.Embedding(config.vocab_size, d)
        self.first = nn.Parameter(torch.randn(d) * 0.02)
        # attention is permutation-equivariant and needs positions; the sequence MLP mixes by position already
        self.position = nn.Parameter(torch.randn(length, d) * 0.02) if config.variant == "attention" else None
        self.net = nn.Sequential(Block(config, length), Block(config, length))  # the one tiny network f
        self.head = nn.Linear(d, config.vocab_size, bias=False)
        self.q_head = nn.Linear(d, 1)
        with torch.no_grad():  # start cautious: the reference initialises the halting logit at -5
            self.q_head.weight.zero_()
            self.q_head.bias.fill_(-5.0)
        # fixed (not learned) starting points for y and z, as in the reference
        self.register_buffer("y_init", torch.randn(d))
        self.register_buffer("z_init", torch.randn(d))

    def embed_input(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self.embed(inputs) * self.config.hidden_size ** 0.5  # scaled like the reference's embeddings
        x = torch.cat([self.first.expand(len(inputs), 1, -1), x], dim=1)
        return x + self.position if self.position is not None else x

    def initial(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (batch, self.config.seq_len + 1, self.config.hidden_size)
        return self.y_init.expand(shape), self.z_init.expand(shape)

    def latent_recursion(self, x, y, z, n: int):
        for _ in range(n):
            z = self.net(x + y + z)  # think: refine the latent from question, answer and latent
        return self.net(y + z), z  # answer: refine y from the latent alone

    def forward(self, inputs: torch.Tensor, y: torch.Tensor, z: torch.Tensor):
        """One supervision step: ((y, z) detached to carry on, logits (B, L, V), halting logit (B,))."""
        c = self.config
        x = self.embed_input(inputs)
        with torch.no_grad():  # T − 1 recursions without gradient
            for _ in range(c.T - 1):
                y, z = self.latent_recursion(x, y, z, c.n)
            if c.gradient == "one_step":  # HRM: gradient through the last z update and the y update only
                for _ in range(c.n - 1):
                    z = self.net(x + y + z)
        y, z = self.latent_recursion(x, y, z, 1 if c.gradient == "one_step" else c.n)  # 1 with gradient
        return (y.detach(), z.detach()), self.head(y[:, 1:]), self.q_head(y[:, 0]).squeeze(-1)

    @torch.no_grad()
    def solve(self, inputs: torch.Tensor, steps: int | None = None, halt: bool = True) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Predictions after each supervision step (B, L) and the step (1-based) at which each example halted.

        With `halt`, an example stops improving once its halting logit is > 0 (its later predictions repeat).
        """
        steps = steps or self.config.max_steps
        y, z = self.initial(len(inputs))
        done = torch.zeros(len(inputs), dtype=torch.bool)
        used = torch.full((len(inputs),), steps)
        predictions = []
        for step in range(steps):
            (new_y, new_z), logits, q = self(inputs, y, z)
            keep = done[:, None, None]
            y, z = torch.where(keep, y, new_y), torch.where(keep, z, new_z)
            pred = logits.argmax(-1)
            predictions.append(torch.where(done[:, None], predictions[-1], pred) if predictions else pred)
            if halt:
                newly = (q > 0) & ~done
                used[newly] = step + 1
                done |= newly
                if done.all():
                    break
        return predictions, used


def ema_of(model: TRM) -> AveragedModel:
    """An EMA copy of the weights (decay from the config); call `.update_parameters(model)` after each step."""
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(model.config.ema_decay), use_buffers=True)


def train_batch(model: TRM, optimizer: torch.optim.Optimizer, inputs: torch.Tensor, labels: torch.Tensor,
                ema: AveragedModel | None = None, generator: torch.Generator | None = None) -> dict:
    """Deep supervision on one batch: up to `max_steps` optimiser steps, each example leaving once it halts."""
    c = model.config
    y, z = model.initial(len(inputs))
    # exploration: some examples must run a random number (2..max) of steps before they may halt (max 1: none can)
    explore = torch.rand(len(inputs), generator=generator) < c.halt_exploration
    min_steps = torch.where(explore, torch.randint(2, max(c.max_steps, 2) + 1, (len(inputs),), generator=generator), 1)
    losses, steps = [], 0
    for step in range(c.max_steps):
        (y, z), logits, q = model(inputs, y, z)
        correct = (logits.argmax(-1) == labels).all(-1).float()
        loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten()) + 0.5 * F.binary_cross_entropy_with_logits(q, correct)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if ema is not None:
            ema.update_parameters(model)
        losses.append(loss.item())
        steps = step + 1
        going = ~((q.detach() > 0) & (step + 1 >= min_steps))
        if not going.any():
            break
        inputs, labels, y, z, min_steps = inputs[going], labels[going], y[going], z[going], min_steps[going]
    return {"loss": sum(losses) / len(losses), "steps": steps}
