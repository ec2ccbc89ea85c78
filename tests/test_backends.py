"""Backends at the seam: a local transformers checkpoint with a chat template, missing paths, missing vLLM."""

import importlib.util

import pytest

from agora.sim.backends.base import Sampling
from agora.sim.backends.hf import HFBackend
from agora.sim.errors import AgoraError
from agora.sim.policy import ChatPolicy, SlotPolicy, load_policy

def test_hf_backend_applies_chat_template_and_batches(chat_checkpoint, scenarios):
    policy = load_policy(f"hf:{chat_checkpoint}", scenarios=scenarios)
    assert isinstance(policy, ChatPolicy)
    task, anchor = scenarios.task("sales"), scenarios.anchors("sales")[0]
    prompt = policy.prompt(task, anchor)
    rendered = policy.backend.render(prompt)
    assert rendered.startswith("<|system|>") and rendered.endswith("<|assistant|>") and anchor.description in rendered
    sampling = Sampling(temperature=0.7, max_new_tokens=8, seed=3)
    out = policy.backend.generate([prompt, prompt, "plain text prompt"], sampling)
    assert len(out) == 3 and all(isinstance(t, str) for t in out)
    assert out == policy.backend.generate([prompt, prompt, "plain text prompt"], sampling)  # seeded
    assert policy.backend.identity.startswith(chat_checkpoint.name + "@")


def test_chat_policy_parses_think_and_tag(scenarios):
    policy = ChatPolicy(backend=None)
    task, anchor = scenarios.task("sales"), scenarios.anchors("sales")[0]
    w = policy.parse(task, anchor, "<think>go big</think>\n<pitch>Great kettle.</pitch>")
    assert (w.text, w.thinking, w.parse_status) == ("Great kettle.", "go big", "ok")
    w = policy.parse(task, anchor, "<think>plan</think> Just buy it.")
    assert (w.text, w.parse_status) == ("Just buy it.", "untagged")
    assert policy.parse(task, anchor, "<think>never finished").parse_status == "empty"


def test_tiny_checkpoint_loads_as_slot_policy(tiny_path, scenarios):
    assert isinstance(load_policy(f"hf:{tiny_path}", scenarios=scenarios), SlotPolicy)


def test_missing_or_invalid_model_path_is_one_clear_error(tmp_path, scenarios):
    with pytest.raises(AgoraError, match=r"model path '/no/such/model' does not exist"):
        HFBackend("/no/such/model")
    with pytest.raises(AgoraError, match="is not a transformers checkpoint"):
        HFBackend(tmp_path)
    with pytest.raises(AgoraError, match=r"policy: unknown backend 'gpt'; known: hf, openai, smollm2, tiny, vllm"):
        load_policy("gpt", scenarios=scenarios)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM installed: the GPU path runs instead")
def test_vllm_without_the_extra_says_how_to_install(chat_checkpoint):
    from agora.sim.backends.vllm import VLLMBackend

    with pytest.raises(AgoraError, match=r"pip install -e '\.\[gpu\]'"):
        VLLMBackend(chat_checkpoint)


def test_a_sampled_completion_depends_only_on_its_prompt_and_seed(tiny_path):
    """What makes cached calls and cross-contest batches safe: no dependence on batch-mates or their order."""
    backend = HFBackend(tiny_path)
    prompts = ["<sales> {name} <msg>", "<election> {name} <msg>", "<social> {name} says <msg>", "<sales> {name} is <msg>"]
    sampling = Sampling(temperature=0.9, top_p=0.95, max_new_tokens=24, seed=5)
    batch = backend.generate(prompts, sampling, seeds=[11, 12, 13, 14])
    alone = [backend.generate([p], sampling, seeds=[s])[0] for p, s in zip(prompts, [11, 12, 13, 14])]
    reordered = backend.generate(prompts[::-1], sampling, seeds=[14, 13, 12, 11])[::-1]
    assert batch == alone == reordered
    assert len(set(backend.generate([prompts[0]] * 6, sampling, seeds=list(range(6))))) > 1  # seeds do vary samples
    greedy = Sampling(temperature=0, max_new_tokens=12)
    assert backend.generate(prompts[:2], greedy) == [backend.generate([p], greedy)[0] for p in prompts[:2]]
    with pytest.raises(ValueError, match="2 seeds for 4 prompts"):
        backend.generate(prompts, sampling, seeds=[1, 2])


def test_option_logprobs_are_the_first_reply_token_s_log_softmax_whatever_the_batch(chat_checkpoint):
    import torch

    from agora.sim.backends.hf import HFBackend

    backend = HFBackend(chat_checkpoint, batch_size=2)
    prompts = [[{"role": "user", "content": "A or B?"}], [{"role": "user", "content": "a much longer question, A or B?"}], "x"]
    found = backend.option_logprobs(prompts, ["A", "B"])
    ids = {o: backend.tokenizer.encode(o, add_special_tokens=False)[0] for o in "AB"}
    for prompt, lp in zip(prompts, found):  # one prompt alone, unpadded: the same numbers as in a padded batch
        enc = backend.tokenizer(backend.render(prompt), return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            row = backend.model(**enc).logits[0, -1].float().log_softmax(-1)
        assert lp == pytest.approx({o: float(row[i]) for o, i in ids.items()}, abs=1e-4)
    assert all(lp["A"] < 0 and lp["B"] < 0 for lp in found)
