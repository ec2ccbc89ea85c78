"""Artificial Hippocampus Networks (ByteDance Seed 2025): sliding-window attention plus a recurrent memory of what
the window has let go.

Each attention layer keeps the first `sinks` tokens and the last `window` tokens exactly (a bounded KV cache).
A token leaving the window is not dropped but written into a fixed-size memory by the gated delta rule,

    S_t = α_t S_{t−1} (I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ,        o_t = S_t q_t,

using the layer's own (L2-normalised) keys, values and queries; α (forget) and β (write strength) are read
from the evicted token. The memory's read-out goes through a zero-initialised projection added to the
attention output, so before training the model *is* the window-only model. Only the memory is trained
(the base is frozen), by self-distillation: KL from the same model with full attention, on the positions
beyond the window, the only ones where the two differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from agora.sim.errors import AgoraError

MODES = ("full", "window", "ahn")


@dataclass(frozen=True)
class AHNConfig:
    vocab_size: int = field(metadata={"help": "tokens"})
    hidden_size: int = field(default=64, metadata={"help": "model width"})
    num_layers: int = field(default=2, metadata={"help": "transformer blocks"})
    num_heads: int = field(default=4, metadata={"help": "attention heads (the memory has one state per head)"})
    intermediate_size: int = field(default=256, metadata={"help": "MLP width"})
    max_len: int = field(default=256, metadata={"help": "longest sequence (learned positions)"})
    window: int = field(default=16, metadata={"help": "sliding window: recent tokens attended exactly"})
    sinks: int = field(default=1, metadata={"help": "first tokens always attended (attention sinks)"})

    def __post_init__(self):
        if self.hidden_size % self.num_heads:
            raise AgoraError(f"hidden_size {self.hidden_size} must be divisible by num_heads {self.num_heads}")
        if self.window < 1 or self.sinks < 0:
            raise AgoraError(f"window must be >= 1 and sinks >= 0, got window={self.window}, sinks={self.sinks}")


def gated_delta_rule(q, k, v, alpha, beta):
    """o_t = S_t q_t with S_t = α_t S_{t−1}(I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ, S_0 = 0.

    q, k: (B, H, N, dk); v: (B, H, N, dv); alpha, beta: (B, H, N). Returns (B, H, N, dv). Recurrent over N,
    vectorised over batch and heads, with the product expanded: α S (I − β k kᵀ) + β v kᵀ = α S + β (v − α S k) kᵀ.
    """
    b, h, n, dk = k.shape
    state = k.new_zeros(b, h, v.shape[-1], dk)
    out = []
    for t in range(n):
        a, bt, kt = alpha[..., t, None, None], beta[..., t, None, None], k[..., t, :]
        error = v[..., t, :] - a[..., 0] * (state @ kt[..., None])[..., 0]  # what the decayed memory gets wrong for k_t
        state = a * state + bt * error[..., None] * kt[..., None, :]
        out.append((state @ q[..., t, :, None])[..., 0])
    return torch.stack(out, dim=2)


class Memory(nn.Module):
    """The AHN of one layer: gates from the evicted token, the delta-rule state, a zero-initialised read-out."""

    def __init__(self, config: AHNConfig):
        super().__init__()
        d, h = config.hidden_size, config.num_heads
        self.window, self.sinks = config.window, config.sinks
        self.alpha = nn.Linear(d, h)
        self.beta = nn.Linear(d, h)
        nn.init.constant_(self.alpha.bias, 3.0)  # start remembering (α ≈ 0.95); training learns what to forget
        self.out = nn.Linear(d, d, bias=False)
        nn.init.zeros_(self.out.weight)  # at start: exactly the window-only model

    def forward(self, x, q, k, v):
        """x: (B, L, d) the layer's input; q, k, v: (B, H, L, dh). Returns (B, L, d)."""
        b, length, d = x.shape
        w, s = self.window, self.sinks
        out = x.new_zeros(b, length, d)
        if length <= s + w:
            return out  # nothing has left the window yet
        # token j (sinks <= j < L − w) is evicted when query j + w arrives; that query reads the state after j
        evicted = slice(s, length - w)
        alpha = torch.sigmoid(self.alpha(x[:, evicted])).transpose(1, 2)
        beta = torch.sigmoid(self.beta(x[:, evicted])).transpose(1, 2)
        read = gated_delta_rule(F.normalize(q[:, :, s + w:], dim=-1), F.normalize(k[:, :, evicted], dim=-1),
                                v[:, :, evicted], alpha, beta)
        out[:, s + w:] = self.out(read.transpose(1, 2).reshape(b, -1, d))
        return out


class Attention(nn.Module):
    def __init__(self, config: AHNConfig):
        super().__init__()
        self.heads = config.num_heads
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size, bias=False)
        self.o = nn.Linear(config.hidden_size, config.hidden_size, bias=False)
        self.memory = Memory(config)

    def forward(self, x, mask, mode):
        b, length, _ = x.shape
        q, k, v = self.qkv(x).view(b, length, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        out = self.o(F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).reshape(b, length, -1))
        return out + self.memory(x, q, k, v) if mode == "ahn" else out


class Block(nn.Module):
    def __init__(self, config: AHNConfig):
        super().__init__()
        self.norm1 = nn.RMSNorm(config.hidden_size)
        self.attn = Attention(config)
        self.norm2 = nn.RMSNorm(config.hidden_size)
        self.mlp = nn.Sequential(nn.Linear(config.hidden_size, config.intermediate_size), nn.GELU(),
                                 nn.Linear(config.intermediate_size, config.hidden_size))

    def forward(self, h, mask, mode):
        h = h + self.attn(self.norm1(h), mask, mode)
        return h + self.mlp(self.norm2(h))


class AHNTransformer(nn.Module):
    """A small causal transformer that runs with full attention, window-only attention, or window + AHN."""

    def __init__(self, config: AHNConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position = nn.Embedding(config.max_len, config.hidden_size)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_layers))
        self.norm = nn.RMSNorm(config.hidden_size)
        self.head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    def mask(self, length: int, mode: str) -> torch.Tensor:
        """Which keys each query sees: all earlier ones (full) or the sinks and the last `window` (window, ahn)."""
        if mode not in MODES:
            raise AgoraError(f"attention mode must be one of {', '.join(MODES)}, got {mode!r}")
        t = torch.arange(length)
        causal = t[None, :] <= t[:, None]
        if mode == "full":
            return causal
        return causal & ((t[:, None] - t[None, :] < self.config.window) | (t[None, :] < self.config.sinks))

    def forward(self, ids: torch.Tensor, mode: str = "full") -> torch.Tensor:
        mask = self.mask(ids.shape[1], mode)
        h = self.embed(ids) + self.position(torch.arange(ids.shape[1]))
        for block in self.blocks:
            h = block(h, mask, mode)
        return self.head(self.norm(h))

    def memory_parameters(self) -> list[nn.Parameter]:
        return [p for b in self.blocks for p in b.attn.memory.parameters()]

    def freeze_base(self) -> None:
        """Train only the memory: everything else keeps the teacher's weights."""
        mine = {id(p) for p in self.memory_parameters()}
        for p in self.parameters():
            p.requires_grad_(id(p) in mine)


def distillation_loss(model: AHNTransformer, ids: torch.Tensor) -> torch.Tensor:
    """KL(full-attention teacher || window + AHN student) averaged over positions beyond the window."""
    with torch.no_grad():
        teacher = F.log_softmax(model(ids, "full"), dim=-1)
    student = F.log_softmax(model(ids, "ahn"), dim=-1)
    beyond = slice(model.config.window, None)
    return F.kl_div(student[:, beyond].flatten(0, 1), teacher[:, beyond].flatten(0, 1), log_target=True, reduction="batchmean")


def cache_floats(config: AHNConfig, length: int, mode: str) -> int:
    """Floats held per sequence while decoding at `length`: K and V per attended token, plus the memory state."""
    d, layers = config.hidden_size, config.num_layers
    if mode == "full":
        return layers * 2 * d * length
    kept = layers * 2 * d * min(length, config.sinks + config.window)
    return kept + (layers * config.num_heads * (d // config.num_heads) ** 2 if mode == "ahn" else 0)


def forward_flops(config: AHNConfig, length: int, mode: str) -> int:
    """Multiply-adds × 2 for one forward pass over `length` tokens (matmuls only; norms and softmax left out)."""
    d, h, layers = config.hidden_size, config.num_heads, config.num_layers
    dh = d // h
    dense = 2 * length * (4 * d * d + 2 * d * config.intermediate_size)  # qkv, o, MLP
    if mode == "full":
        attended = length * (length + 1) // 2
    else:
        attended = sum(min(t + 1, config.sinks + config.window) for t in range(length))
    attention = 2 * 2 * d * attended  # q·k and weights·v
    memory = 0
    if mode == "ahn":
        absorbed = max(0, length - config.sinks - config.window)
        # per absorbed token: gates 2·2dh, S k 2dh·dh per head, the rank-1 update 2dh·dh, the read S q 2dh·dh,
        # and the read-out projection 2d²
        memory = absorbed * (2 * 2 * d * h + 3 * 2 * h * dh * dh + 2 * d * d)
    return layers * (dense + attention + memory) + 2 * length * d * config.vocab_size
