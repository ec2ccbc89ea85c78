"""The one interface every model sits behind: policies, LLM voters and LLM judges alike.

A prompt is plain text or a chat (a list of {"role", "content"} messages); a backend with a
chat template applies it, one without joins the messages. Batching lives here, once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol, Union, runtime_checkable

Chat = list[dict[str, str]]
Prompt = Union[str, Chat]


@dataclass(frozen=True)
class Sampling:
    """Sampling settings; `seed` makes temperature > 0 reproducible."""

    temperature: float = 0.7
    top_p: float = 1.0
    max_new_tokens: int = 160
    seed: int = 0

    def with_seed(self, seed: int) -> Sampling:
        return Sampling(**{**asdict(self), "seed": seed})


class Completion(str):
    """A completion that also says whether the model stopped at the token limit rather than by itself: a message
    cut off mid-sentence is not a candidate the audience should judge. Plain `str` elsewhere."""

    truncated: bool

    def __new__(cls, text: str, truncated: bool = False) -> Completion:
        out = super().__new__(cls, text)
        out.truncated = truncated
        return out


def truncated(text: str) -> bool:
    return bool(getattr(text, "truncated", False))


@runtime_checkable
class Backend(Protocol):
    identity: str  # what produced the text: saved in run configs and cache keys

    def generate(self, prompts: list[Prompt], sampling: Sampling, seeds: list[int] | None = None) -> list[str]:
        """One completion per prompt, in order; prompt i is sampled from `seeds[i]` alone (default
        `prompt_seeds`), so a completion does not depend on which other prompts share its batch."""
        ...


def prompt_seeds(sampling: Sampling, n: int, seeds: list[int] | None = None) -> list[int]:
    """Each prompt's own sampling seed: given, or derived from the call's seed and the prompt's position."""
    if seeds is None:
        return [sampling.seed * 1_000_003 + i for i in range(n)]
    if len(seeds) != n:
        raise ValueError(f"{len(seeds)} seeds for {n} prompts")
    return list(seeds)


def flatten_chat(prompt: Prompt) -> str:
    """A chat as plain text, for models without a chat template."""
    if isinstance(prompt, str):
        return prompt
    return "\n\n".join(m["content"] for m in prompt)
