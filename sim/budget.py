"""Call and token budgets: a run (or a sweep) stops cleanly before the call that would exceed them.

The metered backend sits outside the cache, so only calls that reach a model count; it checks *before*
sending a batch, so a contest is either fully written or not at all, and the run is marked `budget`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from agora.sim.backends.base import Backend, Prompt, Sampling
from agora.sim.errors import AgoraError
from agora.sim.storable import storable


class BudgetExceeded(AgoraError):
    """Raised instead of a call that would take a run past its budget."""


@dataclass
class Budget:
    """What a run has spent, counted against its limits; `on_spend` hears of every batch counted (a run saves it,
    so the calls of a contest a kill cuts short are known on resume)."""

    max_calls: int | None = None
    max_tokens: int | None = None  # generated tokens: the server's usage, else the tokenizer's, else words
    calls: int = 0
    tokens: int = 0
    on_spend: Callable[[dict], None] | None = field(default=None, repr=False, compare=False)

    def spend(self, calls: int, tokens: int) -> None:
        self.calls += calls
        self.tokens += tokens
        if self.on_spend:
            self.on_spend({"calls": self.calls, "tokens": self.tokens})

    def check(self, calls: int, tokens: int) -> None:
        if self.max_calls is not None and self.calls + calls > self.max_calls:
            raise BudgetExceeded(f"call budget reached: {self.calls} of {self.max_calls} calls used, {calls} more needed")
        if self.max_tokens is not None and self.tokens + tokens > self.max_tokens:
            raise BudgetExceeded(f"token budget reached: {self.tokens} of {self.max_tokens} tokens used, up to {tokens} more needed")


class MeteredBackend:
    """Counts the calls and generated tokens that reach `inner`; refuses a batch that could exceed the budget
    (a batch may generate up to max_new_tokens per prompt, so that is what the check reserves). Every completion
    of a run passes here first, so here what a model writes becomes text a table can hold (`storable`)."""

    def __init__(self, inner: Backend, budget: Budget):
        self.inner = inner
        self.budget = budget
        self.identity = inner.identity

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def generate(self, prompts: list[Prompt], sampling: Sampling, seeds: list[int] | None = None) -> list[str]:
        self.budget.check(len(prompts), len(prompts) * sampling.max_new_tokens)
        texts = [storable(t) for t in self.inner.generate(prompts, sampling, seeds)]
        self.budget.spend(len(prompts), self._tokens(texts))
        return texts

    def _tokens(self, texts: list[str]) -> int:
        """The server's own count where the backend reports one (`last_usage`, e.g. from an API's `usage`), else
        the backend's tokenizer, else whitespace words."""
        usage = getattr(self.inner, "last_usage", None)
        if usage:
            return usage["completion_tokens"]
        tokenizer = getattr(self.inner, "tokenizer", None)
        return sum(len(tokenizer.encode(t, add_special_tokens=False)) if tokenizer else len(t.split()) for t in texts)
