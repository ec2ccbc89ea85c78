"""Grid mazes with their shortest start-to-goal path, as TRM's Maze-Hard task frames them: the input is the maze,
the label the same grid with the path drawn in.

A maze is a random spanning tree of an h×w cell graph (so every cell is reachable), with a share of extra walls
knocked out so that there are loops and the *shortest* path has to be found, drawn on a (2h+1)×(2w+1) grid.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

WALL, OPEN, START, GOAL, PATH = 1, 2, 3, 4, 5  # 0 stays free for padding
VOCAB = 6


def make_maze(h: int, w: int, rng: np.random.Generator, loops: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(maze, labelled): start top-left, goal bottom-right; `labelled` marks the shortest path's cells PATH."""
    cells = nx.grid_2d_graph(h, w)
    tree = nx.random_spanning_tree(cells, seed=int(rng.integers(2**31)))
    extra = [e for e in cells.edges if not tree.has_edge(*e)]
    for i in rng.permutation(len(extra))[: int(loops * len(extra))]:
        tree.add_edge(*extra[i])
    grid = np.full((2 * h + 1, 2 * w + 1), WALL, dtype=np.int64)

    def at(cell):  # cell -> its square on the grid
        return 2 * cell[0] + 1, 2 * cell[1] + 1

    for cell in tree.nodes:
        grid[at(cell)] = OPEN
    for u, v in tree.edges:  # the wall between two joined cells is opened
        (r1, c1), (r2, c2) = at(u), at(v)
        grid[(r1 + r2) // 2, (c1 + c2) // 2] = OPEN
    start, goal = (0, 0), (h - 1, w - 1)
    # path on the grid graph of open squares, so the wall gaps between cells are marked too
    free = nx.grid_2d_graph(*grid.shape)
    free.remove_nodes_from([tuple(p) for p in np.argwhere(grid == WALL)])
    path = nx.shortest_path(free, at(start), at(goal))
    labelled = grid.copy()
    for p in path:
        labelled[p] = PATH
    for g in (grid, labelled):
        g[at(start)], g[at(goal)] = START, GOAL
    return grid, labelled


def dataset(h: int, w: int, count: int, seed: int, loops: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """`count` mazes and labels, flattened: arrays (count, (2h+1)(2w+1))."""
    rng = np.random.default_rng(seed)
    pairs = [make_maze(h, w, rng, loops) for _ in range(count)]
    return np.stack([m.ravel() for m, _ in pairs]), np.stack([lab.ravel() for _, lab in pairs])
