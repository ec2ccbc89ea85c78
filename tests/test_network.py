"""The social cascade: posts spread over the Mesa persona network, only likers share, engagement counts the likes a
post collects; the run keeps each persona's part in each cascade (`cascades.parquet`)."""

import random

import mesa
import networkx as nx
import pandas as pd
from mesa.discrete_space import FixedAgent, Network

from agora.sim.config import RunConfig
from agora.sim.network import NetworkConfig, cascade, persona_graph
from agora.sim.runner import build_model, resume_run, start_run, validate_config
from agora.sim.store import TABLES


def placed(graph: nx.Graph) -> list[FixedAgent]:
    """One agent fixed on each cell of a Mesa network over `graph`, in node order."""
    model = mesa.Model(seed=0)
    space = Network(graph, random=model.random)
    agents = [FixedAgent(model) for _ in graph]
    for node, agent in zip(graph, agents):
        agent.cell = space[node]
    return agents


def spread(agents, seeds, likers) -> tuple[list[int], list[int]]:
    sharers, exposed = cascade([agents[s] for s in seeds], {agents[i] for i in likers})
    return sorted(agents.index(a) for a in sharers), sorted(agents.index(a) for a in exposed)


def test_cascade_stops_at_personas_who_do_not_like_the_post():
    path = placed(nx.path_graph(5))  # 0-1-2-3-4
    assert spread(path, [0], {0, 1, 3, 4}) == ([0, 1], [0, 1, 2])  # 2 sees it, doesn't share; 3, 4 never see it
    assert spread(path, [2], {0, 1, 3, 4}) == ([], [2])  # the seed itself doesn't like it
    assert spread(path, [0, 4], {0, 1, 3, 4}) == ([0, 1, 3, 4], [0, 1, 2, 3, 4])


def test_cascade_reaches_the_likers_connected_to_a_seed_through_likers():
    """The definition on the graph itself: sharers are the seeds' components among the likers, the exposed are the
    seeds and everyone next to a sharer."""
    graph = persona_graph(20, NetworkConfig(), seed=1)
    agents, rng = placed(graph), random.Random(0)
    for _ in range(50):
        seeds, likers = rng.sample(range(20), 2), set(rng.sample(range(20), rng.randrange(21)))
        among = graph.subgraph(likers)
        sharers = set().union(*(nx.node_connected_component(among, s) for s in seeds if s in likers))
        exposed = set(seeds) | sharers | {n for s in sharers for n in graph.neighbors(s)}
        assert spread(agents, seeds, likers) == (sorted(sharers), sorted(exposed))


def test_persona_graph_is_seeded_and_connected():
    cfg = NetworkConfig()
    g1, g2 = persona_graph(20, cfg, seed=3), persona_graph(20, cfg, seed=3)
    assert nx.is_connected(g1) and sorted(g1.edges) == sorted(g2.edges)
    assert sorted(g1.edges) != sorted(persona_graph(20, cfg, seed=4).edges)
    assert nx.complete_graph(20).number_of_edges() == persona_graph(20, NetworkConfig(kind="complete"), 0).number_of_edges()


def test_social_personas_sit_on_the_mesa_network(tiny_path, small_tiny):
    cfg = RunConfig(task="social", contests=1, policy="tiny", tiny=small_tiny)
    model = build_model(cfg, validate_config(cfg))
    for voter in model.voters:
        expected = {model.voters[n].persona.id for n in model.graph.neighbors(voter.node)}
        assert {a.persona.id for a in voter.cell.neighborhood.agents} == expected
    cfg = RunConfig(task="sales", contests=1, policy="tiny", tiny=small_tiny, invalid="judge")
    model = build_model(cfg, validate_config(cfg))
    assert model.voters[0].cell is None
    [record] = model.play([0])
    assert record.cascades is None and set(record.tables()) == set(TABLES)  # no network, no cascades table


def test_cascades_table_traces_each_post_and_a_resumed_run_keeps_it_whole(store, tiny_path, small_tiny, interrupted_run):
    cfg = RunConfig(task="social", contests=4, seed=5, policy="tiny", tiny=small_tiny, invalid="judge")
    run_id = interrupted_run(cfg, store, after=2)
    resumed = resume_run(run_id, store)
    whole = start_run(cfg, store)
    assert (resumed.path / "cascades.parquet").is_file() and not (resumed.path / "parts").exists()
    pd.testing.assert_frame_equal(resumed.table("cascades"), whole.table("cascades"))

    cascades, contests, judgments = (whole.table(t) for t in ("cascades", "contests", "judgments"))
    assert len(cascades) == 4 * 20 and contests["cascade_likes"].map(sum).sum() > 0  # some post was shared
    for c in contests.itertuples():
        rows = cascades[cascades["contest"] == c.contest]
        names = list(c.competitors)
        assert [sum(n in shared for shared in rows["shared"]) for n in names] == list(c.cascade_likes)
        assert [sum(n in saw for saw in rows["saw"]) for n in names] == list(c.cascade_exposures)
        chose = judgments[judgments["contest"] == c.contest].set_index("persona_id")["choice"]
        for r in rows.itertuples():
            assert set(r.shared) <= set(r.saw) and set(r.shared) <= {chose[r.persona_id]}  # only a liker shares
            if r.persona_id in set(c.cascade_seeds):
                assert list(r.saw) == names  # every post starts at the seeds
