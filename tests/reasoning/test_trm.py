"""TRM: the gradient reaches only the last recursion, halting stops when the head says so, the EMA moves as it should."""

import pytest
import torch

from agora.reasoning.trm import TRM, TRMConfig, ema_of, train_batch
from agora.sim.errors import AgoraError

torch.set_num_threads(1)


def small(**kw) -> TRM:
    torch.manual_seed(0)
    return TRM(TRMConfig(**{"vocab_size": 5, "seq_len": 16, "hidden_size": 16, "num_heads": 2, "T": 3, "n": 2,
                            "max_steps": 4, "halt_exploration": 0.0, **kw}))


def batch(b=6):
    g = torch.Generator().manual_seed(1)
    return torch.randint(0, 5, (b, 16), generator=g), torch.randint(1, 5, (b, 16), generator=g)


def grad_calls(model, inputs, y, z):
    """Which applications of the network ran with gradient enabled, in order."""
    calls = []
    hook = model.net.register_forward_hook(lambda *_: calls.append(torch.is_grad_enabled()))
    (ny, nz), logits, q = model(inputs, y, z)
    hook.remove()
    return calls, (ny, nz), logits, q


@pytest.mark.parametrize("variant", ["mlp", "attention"])
def test_full_gradient_runs_through_the_last_recursion_only(variant):
    model = small(variant=variant)
    inputs, _ = batch()
    y, z = (t.clone().requires_grad_() for t in model.initial(len(inputs)))
    calls, (ny, nz), logits, q = grad_calls(model, inputs, y, z)
    n1 = model.config.n + 1  # n latent updates + 1 answer update per recursion
    assert calls == [False] * (2 * n1) + [True] * n1
    assert logits.shape == (6, 16, 5) and q.shape == (6,)
    assert not ny.requires_grad and not nz.requires_grad  # the carry is detached
    (logits.sum() + q.sum()).backward()
    assert y.grad is None and z.grad is None  # the incoming state only fed the no-grad recursions
    assert model.embed.weight.grad.abs().sum() > 0


def test_one_recursion_lets_gradient_reach_the_incoming_state():
    model = small(T=1)
    inputs, _ = batch()
    y, z = (t.clone().requires_grad_() for t in model.initial(len(inputs)))
    calls, _, logits, _ = grad_calls(model, inputs, y, z)
    assert calls == [True] * 3
    logits.sum().backward()
    assert y.grad.abs().sum() > 0 and z.grad.abs().sum() > 0


def test_one_step_gradient_covers_only_the_last_two_calls():
    model = small(gradient="one_step")
    calls, *_ = grad_calls(model, batch()[0], *model.initial(6))
    assert calls == [False] * (3 * 3 - 2) + [True, True]


def test_halting_stops_when_the_head_says_so():
    model = small().eval()
    inputs, labels = batch()
    with torch.no_grad():
        model.q_head.bias.fill_(10.0)
    preds, used = model.solve(inputs, halt=True)
    assert len(preds) == 1 and (used == 1).all()
    with torch.no_grad():
        model.q_head.bias.fill_(-10.0)
    preds, used = model.solve(inputs, halt=True)
    assert len(preds) == 4 and (used == 4).all()
    # training leaves a batch after one step when the head says halt, runs all steps otherwise
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    assert train_batch(model.train(), opt, inputs, labels)["steps"] == 4
    with torch.no_grad():
        model.q_head.bias.fill_(10.0)
    assert train_batch(model, opt, inputs, labels)["steps"] == 1


def test_halted_examples_keep_their_answer():
    model = small().eval()
    inputs, _ = batch()
    full, _ = model.solve(inputs, halt=False)  # without halting: all 4 steps, each refining the last
    assert len(full) == 4 and not torch.equal(full[0], full[-1])
    # a head that halts everything at step 1 freezes step 1's prediction
    with torch.no_grad():
        model.q_head.bias.fill_(10.0)
    preds, _ = model.solve(inputs, steps=4, halt=True)
    assert torch.equal(preds[-1], full[0])


def test_ema_follows_the_weights():
    model = small()
    ema = ema_of(model)
    ema.update_parameters(model)  # the first update copies
    w0 = model.head.weight.detach().clone()
    assert torch.equal(ema.module.head.weight, w0)
    with torch.no_grad():
        model.head.weight.add_(1.0)
    ema.update_parameters(model)
    assert torch.allclose(ema.module.head.weight, 0.999 * w0 + 0.001 * (w0 + 1.0), atol=1e-6)


def test_training_changes_weights_and_lowers_loss_on_a_fixed_batch():
    model = small(max_steps=2)
    inputs, labels = batch(8)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ema = ema_of(model)
    before = model.head.weight.detach().clone()
    first = train_batch(model, opt, inputs, labels, ema)["loss"]
    for _ in range(15):
        last = train_batch(model, opt, inputs, labels, ema)["loss"]
    assert not torch.equal(before, model.head.weight) and last < first * 0.8
    assert not torch.equal(ema.module.head.weight, model.head.weight)


@pytest.mark.parametrize("field, value", [("variant", "rnn"), ("gradient", "half")])
def test_bad_config_names_the_field(field, value):
    with pytest.raises(AgoraError, match=f"{field} must be one of"):
        TRMConfig(vocab_size=5, seq_len=4, **{field: value})
