"""Fine-tuning: the weights change and the checkpoint loads as a policy; LoRA targets are checked."""

import pytest
import torch

from agora.sim.errors import AgoraError
from agora.sim.policy import SlotPolicy, load_policy
from agora.sim.tiny.build import manifest
from agora.training.config import TrainConfig
from agora.training.finetune import fine_tune, lora_config


def test_two_steps_change_the_weights_and_save_a_loadable_slot_policy(tiny_path, tmp_path, scenarios):
    from transformers import AutoModelForCausalLM

    rows = [{"prompt": "<sales> {name} {feature1} <msg>", "completion": " Meet {name}. It has {feature1}."}] * 8
    cfg = TrainConfig(epochs=2, batch_size=8, learning_rate=1e-2)
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
    with pytest.raises(AgoraError, match="training takes tiny or hf:PATH"):
        TrainConfig(policy="vllm:/x")
    assert TrainConfig().lora is False and TrainConfig().epochs == 3
