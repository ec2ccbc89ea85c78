"""Named factories: backends, capabilities and probes are looked up by the names saved in a run's config.

`sim/` never imports `memory/` or `probes/`; those packages register themselves here, and a
run rebuilds them from names, so a saved config.yaml is enough to re-run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from agora.sim.errors import AgoraError

T = TypeVar("T", bound=Callable)


class Registry(Generic[T]):
    """A name -> factory table with a decorator, as Inspect registers tasks and scorers."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(factory: T) -> T:
            if name in self._items and self._items[name] is not factory:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = factory
            return factory

        return decorate

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none registered"
            raise AgoraError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._items)


capabilities: Registry = Registry("capability")
probes: Registry = Registry("probe")
