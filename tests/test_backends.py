"""Backends at the seam: a local transformers checkpoint with a chat template, missing paths, missing vLLM."""

import importlib.util

import pytest

from agora.sim.backends.base import Sampling
from agora.sim.backends.hf import HFBackend
from agora.sim.errors import AgoraError
from agora.sim.policy import ChatPolicy, SlotPolicy, load_policy

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


@pytest.fixture(scope="module")
def chat_checkpoint(tmp_path_factory):
    """A random-weight Llama-architecture chat model saved locally, as a user's checkpoint would be."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    path = tmp_path_factory.mktemp("chat-model")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(["<think>plan</think><pitch>Buy it now, it is great.</pitch>"] * 50,
                            trainers.BpeTrainer(vocab_size=300, special_tokens=["<pad>", "<eos>"],
                                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")
    hf_tok.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(hf_tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, pad_token_id=0, eos_token_id=1)
    LlamaForCausalLM(cfg).save_pretrained(path)
    hf_tok.save_pretrained(path)
    return path


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
    with pytest.raises(AgoraError, match="unknown policy 'gpt'"):
        load_policy("gpt", scenarios=scenarios)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM installed: the GPU path runs instead")
def test_vllm_without_the_extra_says_how_to_install(chat_checkpoint):
    from agora.sim.backends.vllm import VLLMBackend

    with pytest.raises(AgoraError, match=r"pip install -e '\.\[gpu\]'"):
        VLLMBackend(chat_checkpoint)
