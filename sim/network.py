"""The social task's persona graph and how a post spreads over it.

A post starts at a few seed personas; whoever is exposed and likes it shares it with their
neighbours. Engagement is the number of likes the cascade collects.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from mesa.discrete_space import FixedAgent


class NetworkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(default="small_world", pattern="^(small_world|scale_free|complete)$")
    k: int = Field(default=4, ge=2, description="neighbours per persona (small world)")
    p: float = Field(default=0.1, ge=0, le=1, description="rewiring probability (small world)")
    seeds: int = Field(default=2, ge=1, description="personas who see each post first")


def persona_graph(n: int, config: NetworkConfig, seed: int) -> nx.Graph:
    if config.kind == "small_world":
        return nx.connected_watts_strogatz_graph(n, min(config.k, n - 1), config.p, seed=seed)
    if config.kind == "scale_free":
        return nx.barabasi_albert_graph(n, max(1, config.k // 2), seed=seed)
    return nx.complete_graph(n)


def cascade(seeds: list[FixedAgent], likers: Collection[FixedAgent]) -> tuple[set[FixedAgent], set[FixedAgent]]:
    """(sharers, exposed) of a post that starts at `seeds` and is passed on, from each persona's cell to the
    neighbouring cells of the Mesa network, only by those who like it: sharers are the likers it reached."""
    exposed, sharers = set(seeds), set()
    todo = [s for s in seeds if s in likers]
    while todo:
        agent = todo.pop()
        if agent in sharers:
            continue
        sharers.add(agent)
        for other in agent.cell.neighborhood.agents:
            exposed.add(other)
            if other in likers:
                todo.append(other)
    return sharers, exposed
