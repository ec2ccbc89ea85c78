"""What the general inoculation settings (code reward hacking, GCD sycophancy) share: their cached small base
model, the three trained arms, and rates of counted outcomes with Wilson 95% intervals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agora.sim.paths import agora_home, ensure_built
from agora.sim.stats import wilson
from agora.sim.tiny.control import MANIFEST, TinyConfig, cache_key
from agora.training.controls import train_checkpoint
from agora.training.config import TrainConfig
from agora.training.finetune import fine_tune


def ensure_model(name: str, variant: str, config: TinyConfig, source: Path, rows: Callable[[], list[dict]], info: dict,
                 home: Path | None = None) -> Path:
    """The setting's small base model, trained once on its generated corpus (`rows`) and cached under a key of
    its config, its source file (which writes the corpus) and `variant`."""
    path = (home or agora_home()) / "models" / f"{name}-{cache_key(config, [source], kind=f'{name}-{variant}')}"
    return ensure_built(path, lambda: train_checkpoint(rows(), config, path, [], {"format": name, **info}), MANIFEST)


def rates(counts: dict[str, int], n: int) -> dict:
    """{"n": n, name: k/n, "name low": .., "name high": ..} for each counted outcome (Wilson: sound at 0 and n)."""
    out: dict = {"n": n}
    for name, k in counts.items():
        low, high = wilson(k, n)
        out.update({name: round(k / n, 4), f"{name} low": round(low, 4), f"{name} high": round(high, 4)})
    return out


def train_arms(base: Path, rows: list[dict], inoculated: list[dict], out: Path, seed: int, experiment: str,
               sft_name: str, *, epochs: int = 3, learning_rate: float = 1e-3) -> dict[str, Path]:
    """The base, the base fine-tuned on `rows`, and on the same rows with the inoculation in each prompt —
    one full fine-tune recipe for both so that only the prompt differs."""
    config = TrainConfig(policy="tiny", seed=seed, epochs=epochs, learning_rate=learning_rate, lora=False)
    models = {"base": base}
    for name, data in ((sft_name, rows), (f"{sft_name} + inoculation", inoculated)):
        models[name] = out / name.replace(" ", "-").replace("+", "plus")
        fine_tune(base, data, config, models[name], {"experiment": experiment, "arm": name})
    return models
