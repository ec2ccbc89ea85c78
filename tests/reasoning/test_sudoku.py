"""Puzzle data for TRM: unique-solution Sudoku, validity-preserving augmentation, mazes with shortest paths."""

import networkx as nx
import numpy as np
import pytest

from agora.reasoning import mazes, sudoku
from agora.sim.errors import AgoraError

KNOWN_4 = np.array([[1, 2, 3, 4], [3, 4, 1, 2], [2, 1, 4, 3], [4, 3, 2, 1]])


def test_checker_rejects_a_broken_grid():
    assert sudoku.is_solved(KNOWN_4)
    bad = KNOWN_4.copy()
    bad[[0, 1]] = bad[[1, 0]]  # swapping rows across boxes keeps rows and columns but breaks the boxes
    bad[:, [1, 2]] = bad[:, [2, 1]]
    assert not sudoku.is_solved(bad)
    assert not sudoku.is_solved(np.roll(KNOWN_4, 1, axis=1) * (np.arange(4) != 0))


def test_solver_counts_solutions():
    assert sudoku.count_solutions(np.zeros((4, 4), dtype=int), limit=1000) == 288  # the known number of 4x4 grids
    one_hole = KNOWN_4.copy()
    one_hole[0, 0] = 0
    assert sudoku.count_solutions(one_hole) == 1
    two = KNOWN_4.copy()
    two[0, :2] = two[1, :2] = 0  # digits 1,2 / 3,4 in a 2x2 rectangle of one box: ambiguous
    two[0, 2:] = two[1, 2:] = 0
    assert sudoku.count_solutions(two) == 2


@pytest.mark.parametrize("n", [4, 9])
def test_puzzles_have_one_solution_that_is_the_label(n):
    rng = np.random.default_rng(0)
    puzzle, solution = sudoku.make_puzzle(n, rng, min_clues=30 if n == 9 else 0)
    assert sudoku.is_solved(solution)
    out = []
    assert sudoku.count_solutions(puzzle, limit=2, out=out) == 1
    assert (out[0] == solution).all() and ((puzzle == 0) | (puzzle == solution)).all()
    assert (puzzle == 0).sum() > 0


@pytest.mark.parametrize("n", [4, 9])
def test_augmentation_keeps_validity_and_uniqueness(n):
    rng = np.random.default_rng(3)
    puzzle, solution = sudoku.make_puzzle(n, rng, min_clues=30 if n == 9 else 0)
    changed = 0
    for _ in range(5):
        p, s = sudoku.augment(puzzle, solution, rng)
        assert sudoku.is_solved(s)
        out = []
        assert sudoku.count_solutions(p, out=out) == 1 and (out[0] == s).all()
        assert (p == 0).sum() == (puzzle == 0).sum()
        changed += not (s == solution).all()
    assert changed >= 4


def test_dataset_is_distinct_and_seeded():
    x, y = sudoku.dataset(4, 20, seed=1, augmentations=1)
    assert x.shape == y.shape == (40, 16)
    assert len({r.tobytes() for r in x[::2]}) == 20
    x2, _ = sudoku.dataset(4, 20, seed=1, augmentations=1)
    assert (x == x2).all()


def test_bad_size_is_named():
    with pytest.raises(AgoraError, match="size must be one of"):
        sudoku.make_puzzle(5, np.random.default_rng(0))


def test_maze_label_is_a_shortest_path():
    rng = np.random.default_rng(0)
    maze, label = mazes.make_maze(5, 6, rng, loops=0.3)
    assert maze.shape == (11, 13)
    g = nx.grid_2d_graph(*maze.shape)
    g.remove_nodes_from([tuple(p) for p in np.argwhere(maze == mazes.WALL)])
    start, goal = tuple(np.argwhere(maze == mazes.START)[0]), tuple(np.argwhere(maze == mazes.GOAL)[0])
    on_path = (label == mazes.PATH).sum() + 2
    assert on_path == nx.shortest_path_length(g, start, goal) + 1
    assert ((label == mazes.PATH) <= (maze == mazes.OPEN)).all()  # the path runs only through open squares
    assert nx.is_connected(g.subgraph(map(tuple, np.argwhere(label >= mazes.START))))
