"""AHN: equals the window-only model at initialisation, the recurrence matches a step-by-step reference,
the memory sees only evicted tokens, and distillation trains the memory alone."""

from dataclasses import replace

import pytest
import torch

from agora.reasoning.ahn import AHNConfig, AHNTransformer, cache_floats, distillation_loss, forward_flops, gated_delta_rule
from agora.sim.errors import AgoraError

torch.set_num_threads(1)
CFG = AHNConfig(vocab_size=20, hidden_size=16, num_heads=2, intermediate_size=32, max_len=40, window=4, sinks=1)


def reference(q, k, v, alpha, beta):
    """The paper's formula, one sequence, one head and one token at a time, with the matrices written out."""
    b, h, n, dk = k.shape
    out = torch.zeros(b, h, n, v.shape[-1], dtype=torch.float64)
    for i in range(b):
        for j in range(h):
            state = torch.zeros(v.shape[-1], dk, dtype=torch.float64)
            for t in range(n):
                kt, vt = k[i, j, t].double(), v[i, j, t].double()
                a, bt = alpha[i, j, t].double(), beta[i, j, t].double()
                state = a * state @ (torch.eye(dk, dtype=torch.float64) - bt * torch.outer(kt, kt)) + bt * torch.outer(vt, kt)
                out[i, j, t] = state @ q[i, j, t].double()
    return out


def test_recurrence_matches_step_by_step_reference():
    g = torch.Generator().manual_seed(0)
    q, k = (torch.nn.functional.normalize(torch.randn(2, 3, 7, 5, generator=g), dim=-1) for _ in range(2))
    v = torch.randn(2, 3, 7, 4, generator=g)
    alpha, beta = torch.rand(2, 3, 7, generator=g), torch.rand(2, 3, 7, generator=g)
    got = gated_delta_rule(q, k, v, alpha, beta)
    assert got.shape == (2, 3, 7, 4)
    assert torch.allclose(got.double(), reference(q, k, v, alpha, beta), atol=1e-5)
    # the delta rule overwrites: with alpha = beta = 1 and a repeated key, the state returns only the newest value
    k1 = k[:, :, :1].expand(-1, -1, 7, -1)
    last = gated_delta_rule(k1, k1, v, torch.ones(2, 3, 7), torch.ones(2, 3, 7))
    assert torch.allclose(last, v, atol=1e-5)


def test_at_initialisation_window_plus_ahn_equals_window_only():
    torch.manual_seed(0)
    model = AHNTransformer(CFG).eval()
    ids = torch.randint(0, 20, (3, 30))
    window, ahn, full = model(ids, "window"), model(ids, "ahn"), model(ids, "full")
    assert torch.equal(window, ahn)
    assert not torch.allclose(window[:, CFG.window:], full[:, CFG.window:], atol=1e-3)  # the window does cut something
    assert torch.allclose(window[:, :CFG.window], full[:, :CFG.window], atol=1e-6)  # ... but nothing before it fills


def test_window_mask_keeps_sinks_and_recent_tokens():
    mask = AHNTransformer(CFG).mask(8, "window")
    assert mask[7].tolist() == [True, False, False, False, True, True, True, True]
    assert mask[3].tolist() == [True] * 4 + [False] * 4
    with pytest.raises(AgoraError, match="mode must be one of"):
        AHNTransformer(CFG).mask(8, "sparse")


def test_memory_carries_evicted_tokens():
    torch.manual_seed(0)
    model = AHNTransformer(replace(CFG, num_layers=1)).eval()  # one layer: no second hop through the window
    memory = model.blocks[0].attn.memory
    with torch.no_grad():
        memory.out.weight.normal_()  # open the read-out
        memory.alpha.bias.fill_(10.0)  # and forget nothing
    ids = torch.randint(0, 20, (1, 20))
    base = model(ids, "ahn")
    changed = ids.clone()
    changed[0, 2] = (ids[0, 2] + 1) % 20  # token 2 leaves the window when query 2 + window = 6 arrives
    diff = (model(changed, "ahn") - base).abs().sum(-1)[0]
    assert diff[2:CFG.window + 2].sum() > 0  # seen directly while in the window
    window_diff = (model(changed, "window") - model(ids, "window")).abs().sum(-1)[0]
    assert window_diff[CFG.window + 2:].max() < 1e-5  # the window-only model forgets it
    assert diff[CFG.window + 2:].min() > 1e-4  # the memory still carries it


def test_distillation_trains_only_the_memory_and_moves_toward_the_teacher():
    torch.manual_seed(0)
    model = AHNTransformer(CFG)
    model.freeze_base()
    base = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    ids = torch.randint(0, 20, (8, 24))
    first = distillation_loss(model, ids)
    assert first.item() > 0
    for _ in range(30):
        loss = distillation_loss(model, ids)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert distillation_loss(model, ids).item() < first.item() * 0.9
    assert all(torch.equal(p, base[n]) for n, p in model.named_parameters() if n in base)
    assert len(base) > 0 and all("memory" not in n for n in base)


def test_cache_and_flops_grow_as_claimed():
    long = 4096
    assert cache_floats(CFG, long, "full") == 2 * 2 * 16 * long
    assert cache_floats(CFG, long, "window") == 2 * 2 * 16 * 5
    assert cache_floats(CFG, long, "ahn") == 2 * 2 * 16 * 5 + 2 * 2 * 8 * 8
    assert cache_floats(CFG, 2 * long, "ahn") == cache_floats(CFG, long, "ahn")
    # full attention is quadratic; window and AHN are linear in length
    assert forward_flops(CFG, 2 * long, "full") / forward_flops(CFG, long, "full") > 2.5
    for mode in ("window", "ahn"):
        assert forward_flops(CFG, 2 * long, mode) / forward_flops(CFG, long, mode) == pytest.approx(2.0, rel=0.01)
