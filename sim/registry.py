"""Named factories: backends, capabilities and probes are looked up by the names saved in a run's config.

`sim/` never imports `memory/` or `probes/`; those packages register themselves here when imported, and
they are imported on first lookup through an entry-point group (`agora.capabilities`, `agora.probes`), so a
saved config.yaml is enough to re-run and a third-party package can add its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from agora.sim.errors import AgoraError

T = TypeVar("T", bound=Callable)


class Registry(Generic[T]):
    """A name -> factory table with a decorator, as Inspect registers tasks and scorers."""

    def __init__(self, kind: str, group: str):
        self.kind = kind
        self.group = group
        self._items: dict[str, T] = {}
        self._loaded = False

    def _load_plugins(self) -> None:
        """Import the modules named in this registry's entry-point group once; importing them registers."""
        if self._loaded:
            return
        self._loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.group):
            ep.load()

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(factory: T) -> T:
            if name in self._items and self._items[name] is not factory:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = factory
            return factory

        return decorate

    def get(self, name: str) -> T:
        if name not in self._items:
            self._load_plugins()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none registered"
            raise AgoraError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._items)


capabilities: Registry = Registry("capability", "agora.capabilities")
probes: Registry = Registry("probe", "agora.probes")
