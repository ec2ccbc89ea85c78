"""The social cascade: only likers share, engagement counts the likes a post collects."""

import networkx as nx

from agora.sim.network import NetworkConfig, cascade, persona_graph


def test_cascade_stops_at_personas_who_do_not_like_the_post():
    path = nx.path_graph(5)  # 0-1-2-3-4
    assert cascade(path, [0], {0, 1, 3, 4}) == (2, 3)  # 0 and 1 like it; 2 sees it, doesn't share; 3, 4 never see it
    assert cascade(path, [2], {0, 1, 3, 4}) == (0, 1)  # the seed itself doesn't like it
    assert cascade(path, [0, 4], {0, 1, 3, 4}) == (4, 5)


def test_persona_graph_is_seeded_and_connected():
    cfg = NetworkConfig()
    g1, g2 = persona_graph(20, cfg, seed=3), persona_graph(20, cfg, seed=3)
    assert nx.is_connected(g1) and sorted(g1.edges) == sorted(g2.edges)
    assert sorted(g1.edges) != sorted(persona_graph(20, cfg, seed=4).edges)
    assert nx.complete_graph(20).number_of_edges() == persona_graph(20, NetworkConfig(kind="complete"), 0).number_of_edges()


def test_social_personas_sit_on_the_mesa_network(tiny_path, small_tiny):
    from agora.sim.config import RunConfig
    from agora.sim.runner import build_model, validate_config

    cfg = RunConfig(task="social", contests=1, policy="tiny", tiny=small_tiny)
    model = build_model(cfg, validate_config(cfg))
    for voter in model.voters:
        expected = {model.voters[n].persona.id for n in model.graph.neighbors(voter.node)}
        assert {a.persona.id for a in voter.neighbours()} == expected
    cfg = RunConfig(task="sales", contests=1, policy="tiny", tiny=small_tiny)
    assert build_model(cfg, validate_config(cfg)).voters[0].neighbours() == []
