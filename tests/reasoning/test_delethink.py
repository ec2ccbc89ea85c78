"""Delethink: prompt construction, budgets, the KV cache dropped at every chunk, the chunk-summed loss."""

import math

import pytest
import torch

from agora.reasoning.delethink import DelethinkConfig, delethink, delethink_loss, hf_generator, next_prompt
from agora.sim.errors import AgoraError

torch.set_num_threads(1)


class Counter:
    """A fake generator writing 1000, 1001, ... and remembering each prompt and budget it was given."""

    def __init__(self, eos_after: int | None = None, eos: int = -1):
        self.next, self.calls, self.eos_after, self.eos = 1000, [], eos_after, eos

    def __call__(self, prompt, max_new):
        self.calls.append((list(prompt), max_new))
        out = []
        for _ in range(max_new):
            if self.eos_after is not None and self.next - 1000 == self.eos_after:
                return out + [self.eos]
            out.append(self.next)
            self.next += 1
        return out


def test_prompts_are_query_head_and_tail_of_previous_chunk():
    cfg = DelethinkConfig(chunk_size=8, carryover=4, iterations=3, head=2)
    gen = Counter()
    trace = delethink(gen, [1, 2, 3], cfg, eos_token_id=None)
    first = list(range(1000, 1008))
    assert gen.calls[0] == ([1, 2, 3], 8)
    assert gen.calls[1] == ([1, 2, 3, 1000, 1001, 1006, 1007], 4)  # query + first 2 of chunk 1 + last m-2 of chunk 1
    assert gen.calls[2] == ([1, 2, 3, 1000, 1001, 1010, 1011], 4)  # ... + last 2 of chunk 2
    assert trace.chunks[0] == first and not trace.finished
    assert len(trace.thinking) == cfg.budget == 8 + 2 * (8 - 4)
    assert trace.longest_context == 3 + 8  # no pass ever sees more than query + C


@pytest.mark.parametrize("c, m, i", [(8192, None, 5), (16, 8, 1), (16, 12, 4), (10, 0, 3)])
def test_budget_is_c_plus_i_minus_one_times_c_minus_m(c, m, i):
    cfg = DelethinkConfig(chunk_size=c, carryover=m, iterations=i, head=0)
    m = c // 2 if m is None else m
    assert cfg.budget == c + (i - 1) * (c - m)
    if c < 100:
        assert len(delethink(Counter(), [7], cfg, None).thinking) == cfg.budget


def test_zero_tail_keeps_only_query_and_head():
    cfg = DelethinkConfig(chunk_size=6, carryover=2, head=2)
    assert next_prompt([9], [1, 2, 3], [4, 5, 6], cfg) == [9, 1, 2]


def test_stops_on_eos():
    cfg = DelethinkConfig(chunk_size=8, carryover=4, iterations=5, head=1)
    gen = Counter(eos_after=10, eos=-1)
    trace = delethink(gen, [1], cfg, eos_token_id=-1)
    assert trace.finished and len(trace.chunks) == 2 and trace.chunks[1][-1] == -1
    assert len(gen.calls) == 2


@pytest.mark.parametrize("field, kwargs", [("carryover", {"chunk_size": 8, "carryover": 8}),
                                           ("head", {"chunk_size": 8, "carryover": 4, "head": 5}),
                                           ("iterations", {"chunk_size": 8, "head": 0, "iterations": 0})])
def test_bad_config_names_the_field(field, kwargs):
    with pytest.raises(AgoraError, match=field):
        DelethinkConfig(**kwargs)


def test_real_model_never_attends_beyond_one_chunk(chat_checkpoint):
    """Each chunk is a fresh generate: the cache a forward pass sees never exceeds query + C tokens."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(chat_checkpoint).eval()
    model.generation_config.eos_token_id = None  # never stop early, so all I chunks run
    seen = []

    def attended(module, args, kwargs):  # tokens fed now + tokens already in the cache
        cache = kwargs.get("cache", kwargs.get("past_key_values"))
        seen.append(kwargs["input_ids"].shape[1] + (cache.get_seq_length() if cache is not None else 0))

    model.register_forward_pre_hook(attended, with_kwargs=True)
    cfg = DelethinkConfig(chunk_size=12, carryover=6, iterations=4, head=2)
    query = [5, 6, 7, 8, 9]
    trace = delethink(hf_generator(model, pad_token_id=0), query, cfg, eos_token_id=None)
    assert [len(c) for c in trace.chunks] == [12, 6, 6, 6]
    assert len(trace.thinking) == cfg.budget == 30
    assert max(seen) == len(query) + 12 - 1  # the last token written is never fed back
    assert trace.prompts[2] == query + trace.chunks[0][:2] + trace.chunks[1][-4:]


def _inputs():
    # three chunks: trace 7 has two (lengths 2 and 1), trace 9 one (length 2); padding tokens carry junk values
    old = torch.zeros(3, 3)
    new = torch.log(torch.tensor([[1.1, 0.5, 9.0], [1.5, 9.0, 9.0], [1.5, 1.0, 9.0]]))
    mask = torch.tensor([[1, 1, 0], [1, 0, 0], [1, 1, 0]])
    return new.requires_grad_(), old, torch.tensor([2.0, 2.0, -1.0]), mask, torch.tensor([7, 7, 9])


def test_loss_matches_hand_computation():
    new, old, adv, mask, ids = _inputs()
    loss = delethink_loss(new, old, adv, mask, ids, epsilon_low=0.2, epsilon_high=0.2)
    # trace 7 (A=2): ratios 1.1, 0.5, 1.5 -> min(r*A, clip(r)*A) = 2.2, 1.0, 2.4; summed over chunks / 3 tokens
    trace7 = -(2.2 + 1.0 + 2.4) / 3
    # trace 9 (A=-1): ratios 1.5, 1.0 -> min(-1.5, -1.2) = -1.5, -1.0; / 2 tokens
    trace9 = (1.5 + 1.0) / 2
    assert loss.item() == pytest.approx((trace7 + trace9) / 2, abs=1e-6)
    # TRL's default per-chunk normalisation would weight trace 7's chunks as two samples: a different number
    per_chunk = (-(2.2 + 1.0) / 2 - 2.4 / 1 + trace9) / 3
    assert not math.isclose(loss.item(), per_chunk, abs_tol=1e-3)


def test_loss_gradient_is_normalised_by_total_trace_length():
    new, old, adv, mask, ids = _inputs()
    delethink_loss(new, old, adv, mask, ids).backward()
    g = new.grad
    # d/dlogp of -A*r = -A*r, divided by the trace's 3 tokens (over both chunks) and by the 2 traces
    assert g[0, 0].item() == pytest.approx(-2 * 1.1 / 3 / 2)
    assert g[0, 1].item() == pytest.approx(-2 * 0.5 / 3 / 2)
    assert g[1, 0].item() == 0.0  # ratio 1.5 > 1.2 with A > 0: clipped, no gradient
    assert g[0, 2].item() == 0.0 and g[1, 1].item() == 0.0  # padding
    assert g[2, 0].item() == pytest.approx(1.5 / 2 / 2)


def test_loss_rejects_different_advantages_within_a_trace():
    new, old, _, mask, ids = _inputs()
    with pytest.raises(AgoraError, match="advantages"):
        delethink_loss(new, old, torch.tensor([2.0, 1.0, -1.0]), mask, ids)


def test_capability_thinks_before_the_competitor_writes(tiny_path):
    from agora.reasoning.capabilities import DelethinkCapability
    from agora.sim.backends.hf import HFBackend
    from agora.sim.registry import capabilities

    assert capabilities.get("delethink") is DelethinkCapability
    cap = DelethinkCapability(HFBackend(tiny_path), DelethinkConfig(chunk_size=16, carryover=8, iterations=3, head=2),
                              keep_tokens=10, seed=1)
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Sell a kettle."}]
    out = cap.before_write(None, type("A", (), {"id": "a1"})(), chat)
    assert out[0] == chat[0] and out[1]["content"].startswith("Sell a kettle.\n\nYour thinking so far")
    plain = cap.before_write(None, type("A", (), {"id": "a2"})(), "<sales> {price}")
    assert plain.startswith("<think>") and plain.endswith("</think>\n<sales> {price}")
    state = cap.state()
    assert [t["anchor"] for t in state["traces"]] == ["a1", "a2"]
    assert all(1 <= t["chunks"] <= 3 and t["tokens"] <= 16 + 2 * 8 for t in state["traces"])
