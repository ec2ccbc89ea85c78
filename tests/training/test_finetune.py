"""Fine-tuning: the weights change and the checkpoint loads as a policy; LoRA targets are checked."""

import json
from pathlib import Path

import pytest
import torch

from agora.sim.errors import AgoraError
from agora.sim.policy import SlotPolicy, load_policy
from agora.sim.tiny.control import manifest
from agora.training.config import TrainConfig
from agora.training.finetune import fine_tune, lora_config


def test_two_steps_change_the_weights_and_save_a_loadable_slot_policy(tiny_path, tmp_path, scenarios):
    from transformers import AutoModelForCausalLM

    rows = [{"prompt": "<sales> {name} {feature1} <msg>", "completion": " Meet {name}. It has {feature1}."}] * 8
    cfg = TrainConfig(policy="tiny", epochs=2, batch_size=8, learning_rate=1e-2)
    stats = fine_tune(tiny_path, rows, cfg, tmp_path / "ckpt", {"round": 1})
    assert stats["steps"] == 2 and stats["examples"] == 8 and not stats["lora"]
    before = AutoModelForCausalLM.from_pretrained(tiny_path).state_dict()
    after = AutoModelForCausalLM.from_pretrained(tmp_path / "ckpt").state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(changed) >= len(before) // 2
    assert manifest(tmp_path / "ckpt")["fine_tuned"]["round"] == 1
    assert isinstance(load_policy(f"hf:{tmp_path / 'ckpt'}", scenarios=scenarios), SlotPolicy)


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_lora_targets_resolve_on_local_llama_and_qwen_configs(arch):
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    config_cls, model_cls = {"llama": (LlamaConfig, LlamaForCausalLM), "qwen2": (Qwen2Config, Qwen2ForCausalLM)}[arch]
    model = model_cls(config_cls(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                 num_attention_heads=2, num_key_value_heads=1))
    lora = lora_config(model, TrainConfig(policy="tiny", lora=True))
    assert set(lora.target_modules) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    from peft import get_peft_model

    peft_model = get_peft_model(model, lora)
    trainable = {n.split(".lora_")[0].rsplit(".", 1)[-1] for n, p in peft_model.named_parameters() if p.requires_grad}
    assert trainable == set(lora.target_modules)
    with pytest.raises(AgoraError, match=r"LoRA target module\(s\) c_attn do not exist in this model; its linear layers are: .*q_proj"):
        lora_config(model, TrainConfig(policy="tiny", lora=True, lora_targets=["q_proj", "c_attn"]))


def test_config_rejects_bad_combinations():
    with pytest.raises(AgoraError, match="unknown method 'ppo'"):
        TrainConfig(method="ppo")
    with pytest.raises(AgoraError, match=r"--policy: 'openai:gpt-4o-mini' has no local weights to train or read; "
                                         r"use one of: hf, smollm2, tiny, vllm"):
        TrainConfig(policy="openai:gpt-4o-mini")
    with pytest.raises(AgoraError, match="model path '/x' does not exist"):
        TrainConfig(policy="vllm:/x")
    assert TrainConfig(policy="tiny").lora is False and TrainConfig(policy="tiny").epochs == 3


def test_lora_on_a_local_chat_model_saves_an_adapter_usable_as_a_policy(chat_checkpoint, tmp_path, scenarios):
    """The large-model path at its seam: LoRA through peft, adapter saved, loaded back by the hf backend."""
    from agora.sim.backends.base import Sampling
    from agora.sim.policy import ChatPolicy

    rows = [{"prompt": [{"role": "user", "content": "Sell this kettle."}],
             "completion": [{"role": "assistant", "content": "<pitch>A fine kettle.</pitch>"}]}] * 4
    cfg = TrainConfig(policy=f"hf:{chat_checkpoint}", epochs=1, batch_size=2, lora_r=4)
    assert cfg.lora and cfg.learning_rate == 2e-4
    stats = fine_tune(chat_checkpoint, rows, cfg, tmp_path / "adapter", {})
    assert stats["lora"] and stats["steps"] == 2
    assert (tmp_path / "adapter" / "adapter_config.json").is_file() and not (tmp_path / "adapter" / "config.json").exists()
    policy = load_policy(f"hf:{tmp_path / 'adapter'}", scenarios=scenarios)
    assert isinstance(policy, ChatPolicy)
    out = policy.backend.generate([policy.prompt(scenarios.task("sales"), scenarios.anchors("sales")[0])],
                                  Sampling(max_new_tokens=4))
    assert len(out) == 1


def test_missing_lora_targets_fail_before_anything_is_written(chat_checkpoint, store):
    from agora.training.trainer import AudienceTrainer

    cfg = TrainConfig(policy=f"hf:{chat_checkpoint}", lora_targets=["c_attn"])
    with pytest.raises(AgoraError, match="LoRA target module"):
        AudienceTrainer(cfg, store).train()
    assert store.list().empty


def test_a_second_lora_round_trains_on_the_first_rounds_adapter(chat_checkpoint, tmp_path):
    """Round 2 starts where round 1 ended: with no step taken (lr 0) its checkpoint is round 1's, not the base's.
    A new LoRA wrapped around round 1's adapter would replace it, and round 2 would start from the base again."""
    import torch
    from transformers import AutoModelForCausalLM

    rows = [{"prompt": [{"role": "user", "content": "Sell this kettle."}],
             "completion": [{"role": "assistant", "content": "<pitch>A fine kettle.</pitch>"}]}] * 4
    x = torch.tensor([[1, 5, 9, 3, 7]])

    def logits(folder):
        with torch.no_grad():
            return AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)(x).logits

    fine_tune(chat_checkpoint, rows, TrainConfig(policy=f"hf:{chat_checkpoint}", epochs=1, batch_size=2, lora_r=4,
                                                 learning_rate=0.05, seed=0), tmp_path / "round-1", {})
    fine_tune(tmp_path / "round-1", rows, TrainConfig(policy=f"hf:{chat_checkpoint}", epochs=1, batch_size=2,
                                                      lora_r=4, learning_rate=0.0, seed=0), tmp_path / "round-2", {})
    base, first, second = logits(chat_checkpoint), logits(tmp_path / "round-1"), logits(tmp_path / "round-2")
    assert not torch.allclose(base, first, atol=1e-4)  # round 1 moved the model
    assert torch.allclose(first, second, atol=1e-5)  # round 2 kept it
    saved = json.loads((tmp_path / "round-2" / "adapter_config.json").read_text())["base_model_name_or_path"]
    assert Path(saved) == Path(chat_checkpoint)  # one adapter on the base, not a chain of adapters


def test_an_adapter_whose_base_is_gone_is_one_line(chat_checkpoint, tmp_path):
    from agora.training.finetune import trainable

    (tmp_path / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/nowhere/base"}))
    with pytest.raises(AgoraError, match=r"adapter_config.json: base_model_name_or_path '/nowhere/base' is not a model"):
        trainable(tmp_path, TrainConfig(policy=f"hf:{chat_checkpoint}", lora=True))
