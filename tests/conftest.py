"""Shared fixtures: a small embedded model built once per test session, in a temporary AGORA_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agora.sim.scenario import Scenarios
from agora.sim.tiny.build import TinyConfig

# Small enough to train in ~20 s on 2 cores; same code path as the default model.
SMALL = {"hidden_size": 64, "num_layers": 2, "num_heads": 2, "intermediate_size": 128, "vocab_size": 800,
         "corpus_size": 2400, "steps": 60, "batch_size": 16}


@pytest.fixture(scope="session", autouse=True)
def agora_home(tmp_path_factory) -> Path:
    home = Path(os.environ.get("AGORA_TEST_HOME") or tmp_path_factory.mktemp("agora_home"))
    os.environ["AGORA_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def scenarios() -> Scenarios:
    return Scenarios.load()


@pytest.fixture(scope="session")
def small_tiny() -> dict:
    return dict(SMALL)


@pytest.fixture(scope="session")
def tiny_path(scenarios, small_tiny, agora_home) -> Path:
    from agora.sim.tiny.build import ensure_tiny

    return ensure_tiny(scenarios, TinyConfig(**small_tiny))


@pytest.fixture
def store(tmp_path):
    from agora.sim.store import RunStore

    return RunStore(tmp_path / "runs")


CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


@pytest.fixture(scope="session")
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
