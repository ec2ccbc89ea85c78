"""The social task's persona graph and how a post spreads over it.

A post starts at a few seed personas; whoever is exposed and likes it shares it with their
neighbours. Engagement is the number of likes the cascade collects.
"""

from __future__ import annotations

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field


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


def cascade(graph: nx.Graph, seeds: list[int], likers: set[int]) -> tuple[int, int]:
    """(likes, exposures) of a post that starts at `seeds` and is shared only by those who like it."""
    sharers = graph.subgraph(likers)
    reached_likers: set[int] = set()
    for s in seeds:
        if s in likers:
            reached_likers |= nx.node_connected_component(sharers, s)
    exposed = set(seeds) | reached_likers
    for node in reached_likers:
        exposed |= set(graph.neighbors(node))
    return len(reached_likers), len(exposed)
