"""Sudoku puzzles with unique solutions (4×4 and 9×9), checked by a backtracking solver, and the validity-preserving
augmentations TRM trains with: digit permutation, band and stack shuffles, transposition.

A grid is an (n, n) int array, n = box², 0 for an empty cell, digits 1..n.
"""

from __future__ import annotations

import numpy as np

from agora.sim.errors import AgoraError

SIZES = {4: 2, 9: 3}  # side -> box side


def box_of(n: int) -> int:
    if n not in SIZES:
        raise AgoraError(f"sudoku size must be one of {sorted(SIZES)}, got {n}")
    return SIZES[n]


def is_solved(grid: np.ndarray) -> bool:
    """Every row, column and box holds each digit 1..n exactly once."""
    n = grid.shape[0]
    b = box_of(n)
    digits = np.arange(1, n + 1)
    boxes = grid.reshape(b, b, b, b).transpose(0, 2, 1, 3).reshape(n, n)
    return all((np.sort(g, axis=1) == digits).all() for g in (grid, grid.T, boxes))


def count_solutions(grid: np.ndarray, limit: int = 2, rng: np.random.Generator | None = None,
                    out: list | None = None) -> int:
    """Backtracking with the most-constrained cell first; stops at `limit`. The first solution goes into `out`."""
    n = grid.shape[0]
    b = box_of(n)
    g = grid.copy()
    rows = [set(g[r][g[r] > 0]) for r in range(n)]
    cols = [set(g[:, c][g[:, c] > 0]) for c in range(n)]
    boxes = [set(g[r:r + b, c:c + b].ravel()) - {0} for r in range(0, n, b) for c in range(0, n, b)]
    empty = [(r, c) for r in range(n) for c in range(n) if g[r, c] == 0]
    found = 0

    def candidates(r, c):
        return set(range(1, n + 1)) - rows[r] - cols[c] - boxes[(r // b) * b + c // b]

    def solve() -> bool:  # True: stop searching
        nonlocal found
        if not empty:
            found += 1
            if out is not None and found == 1:
                out.append(g.copy())
            return found >= limit
        i = min(range(len(empty)), key=lambda j: len(candidates(*empty[j])))
        r, c = empty.pop(i)
        options = sorted(candidates(r, c))
        if rng is not None:
            rng.shuffle(options)
        for d in options:
            g[r, c] = d
            rows[r].add(d), cols[c].add(d), boxes[(r // b) * b + c // b].add(d)
            if solve():
                return True
            rows[r].discard(d), cols[c].discard(d), boxes[(r // b) * b + c // b].discard(d)
        g[r, c] = 0
        empty.insert(i, (r, c))
        return False

    solve()
    return found


def random_solution(n: int, rng: np.random.Generator) -> np.ndarray:
    out: list = []
    count_solutions(np.zeros((n, n), dtype=np.int64), limit=1, rng=rng, out=out)
    return out[0]


def make_puzzle(n: int, rng: np.random.Generator, min_clues: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(puzzle, solution): clues removed in random order while the solution stays unique (down to `min_clues`)."""
    solution = random_solution(n, rng)
    puzzle = solution.copy()
    for cell in rng.permutation(n * n):
        if (puzzle > 0).sum() <= min_clues:
            break
        r, c = divmod(int(cell), n)
        kept = puzzle[r, c]
        puzzle[r, c] = 0
        if count_solutions(puzzle, limit=2) != 1:
            puzzle[r, c] = kept
    return puzzle, solution


def augment(puzzle: np.ndarray, solution: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The same random symmetry applied to puzzle and solution: relabel digits, shuffle bands, rows within a band,
    stacks and columns within a stack, and transpose half the time. Each maps valid grids to valid grids."""
    n = puzzle.shape[0]
    b = box_of(n)
    digits = np.concatenate([[0], rng.permutation(n) + 1])  # 0 (empty) stays empty
    rows = np.concatenate([band * b + rng.permutation(b) for band in rng.permutation(b)])
    cols = np.concatenate([stack * b + rng.permutation(b) for stack in rng.permutation(b)])
    flip = rng.random() < 0.5

    def apply(grid):
        g = digits[grid][rows][:, cols]
        return g.T.copy() if flip else g

    return apply(puzzle), apply(solution)


def dataset(n: int, count: int, seed: int, min_clues: int = 0, augmentations: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` distinct puzzles, each followed by `augmentations` augmented copies: arrays (rows, n*n)."""
    rng = np.random.default_rng(seed)
    puzzles, solutions, seen = [], [], set()
    while len(seen) < count:
        p, s = make_puzzle(n, rng, min_clues)
        if p.tobytes() in seen:
            continue
        seen.add(p.tobytes())
        puzzles.append(p), solutions.append(s)
        for _ in range(augmentations):
            ap, as_ = augment(p, s, rng)
            puzzles.append(ap), solutions.append(as_)
    return np.stack(puzzles).reshape(len(puzzles), -1), np.stack(solutions).reshape(len(solutions), -1)
