"""The settings of the three reasoning studies (`trm_study`, `ahn_study`, `delethink_study`), kept free of torch so
the CLI can build its option help from them without loading it.

Each field carries its help and, where `--quick` changes it, its quick value: one place for the default, the
quick value and the text the user reads. A bad value raises one line naming the field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from agora.sim.errors import AgoraError

RECALL_KEYS = 16  # distinct key tokens in the associative-recall task (ahn_study's token layout)


def quick(settings_cls):
    """The settings `--quick` stands for: each field's `quick` value, the rest at their defaults."""
    return settings_cls(**{f.name: f.metadata["quick"] for f in dataclasses.fields(settings_cls) if "quick" in f.metadata})


def _shown(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def describe(settings_cls, name: str) -> str:
    """A field's help with its default and, where it has one, its `--quick` value: the CLI's option help."""
    f = next(f for f in dataclasses.fields(settings_cls) if f.name == name)
    quick_value = f"; --quick {_shown(f.metadata['quick'])}" if "quick" in f.metadata else ""
    return f"{f.metadata['help']} (default {_shown(f.default)}{quick_value})"


def quick_help(settings_cls) -> str:
    """What `--quick` sets, for its help."""
    changed = [f"{f.name.replace('_', '-')} {_shown(f.metadata['quick'])}" for f in dataclasses.fields(settings_cls)
               if "quick" in f.metadata]
    return f"a few seconds: {', '.join(changed)}; options given as well win"


def _at_least(settings, minimum: int, *names: str) -> None:
    for name in names:
        if (value := getattr(settings, name)) < minimum:
            raise AgoraError(f"{name.replace('_', '-')} must be >= {minimum}, got {value}")


@dataclass(frozen=True)
class TRMSettings:
    seed: int = field(default=0, metadata={"help": "seeds the puzzles, the weights and the batches"})
    batches: int = field(default=70, metadata={"help": "training batches per arm", "quick": 3})
    batch_size: int = field(default=64, metadata={"help": "puzzles per batch"})
    hidden: int = field(default=64, metadata={"help": "width of the network"})
    train_steps: int = field(default=6, metadata={"help": "deep-supervision steps while training", "quick": 2})
    eval_steps: int = field(default=16, metadata={"help": "supervision steps at inference", "quick": 4})
    lr: float = field(default=1e-3, metadata={"help": "AdamW learning rate"})
    ema: float = field(default=0.99, metadata={"help": "EMA decay (paper 0.999: too slow for a few hundred steps)"})
    puzzles: int = field(default=1000, metadata={"help": "distinct training puzzles", "quick": 60})
    held_out: int = field(default=200, metadata={"help": "held-out puzzles", "quick": 20})

    def __post_init__(self):
        _at_least(self, 1, "batches", "batch_size", "hidden", "train_steps", "eval_steps", "puzzles", "held_out")
        if self.lr <= 0 or not 0 <= self.ema < 1:
            raise AgoraError(f"lr must be > 0 and ema in [0, 1), got lr={self.lr}, ema={self.ema}")


@dataclass(frozen=True)
class AHNSettings:
    seed: int = field(default=0, metadata={"help": "seeds the sequences and the weights"})
    pairs: int = field(default=4, metadata={"help": "key-value pairs per sequence"})
    filler: int = field(default=16, metadata={"help": "filler tokens between the pairs and the queries"})
    queries: int = field(default=4, metadata={"help": "keys asked for again"})
    window: int = field(default=16, metadata={"help": "sliding-window length"})
    teacher_steps: int = field(default=2000, metadata={"help": "full-attention training steps", "quick": 30})
    ahn_steps: int = field(default=500, metadata={"help": "AHN distillation steps", "quick": 20})
    batch_size: int = field(default=64, metadata={"help": "sequences per step"})
    held_out: int = field(default=1000, metadata={"help": "held-out sequences accuracy is measured on"})

    def __post_init__(self):
        _at_least(self, 1, "pairs", "queries", "window", "teacher_steps", "ahn_steps", "batch_size", "held_out")
        _at_least(self, 0, "filler")
        if self.pairs > RECALL_KEYS:
            raise AgoraError(f"pairs must be <= {RECALL_KEYS} (the distinct keys), got {self.pairs}")
        if self.queries > self.pairs:
            raise AgoraError(f"queries must be <= pairs ({self.pairs}), got {self.queries}")
        if self.filler + 2 < self.window:  # the first query sits filler + 2 tokens after the last pair
            raise AgoraError(f"filler must be >= window - 2 ({self.window - 2}) so every key has left the window "
                             f"before it is asked for, got {self.filler}")


@dataclass(frozen=True)
class DelethinkSettings:
    seed: int = field(default=0, metadata={"help": "seeds the weights and the query"})
    lengths: tuple[int, ...] = field(default=(1, 3, 7, 15), metadata={"help": "iteration caps I; thinking = C + (I-1)(C-m)",
                                                                      "quick": (1, 3)})
    chunk: int = field(default=512, metadata={"help": "C (m = C/2)", "quick": 64})
    head: int = field(default=32, metadata={"help": "tokens of the first chunk kept", "quick": 8})
    query: int = field(default=64, metadata={"help": "query tokens", "quick": 16})
    isolate: bool = field(default=True, metadata={"help": "each run in its own process, so its peak RSS is its own "
                                                          "(in one process: no start-up cost, but one shared peak)",
                                                  "quick": False})

    def __post_init__(self):
        _at_least(self, 1, "chunk", "query")
        if not self.lengths or min(self.lengths) < 1 or len(set(self.lengths)) < len(self.lengths):
            raise AgoraError(f"lengths must be distinct iteration caps >= 1, got {_shown(self.lengths) or 'none'}")
        if not 0 <= self.head <= self.chunk // 2:
            raise AgoraError(f"head must be in [0, chunk/2 = {self.chunk // 2}] (it is part of the carry-over), got {self.head}")
