"""TRM on 4×4 Sudoku (`agora reasoning trm`): held-out accuracy vs supervision steps at inference, full-recursion
vs 1-step gradient, (T=3, n=6) vs (T=1, n=1) with the same network (equal parameters).

Every arm trains the same number of batches on the same data (distinct minimal puzzles, augmented on the fly,
none equal to a held-out puzzle) and is evaluated with its EMA weights.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from agora.reasoning import sudoku
from agora.reasoning.settings import TRMSettings
from agora.reasoning.study import Progress, StudyResult, one_thread, ticker
from agora.reasoning.trm import TRM, TRMConfig, ema_of, train_batch

ARMS = {  # name -> (T, n, gradient)
    "T=3 n=6, full gradient": (3, 6, "full"),
    "T=3 n=6, 1-step gradient": (3, 6, "one_step"),
    "T=1 n=1, full gradient": (1, 1, "full"),
}
CURVE_STEPS = (1, 2, 4, 8, 16)  # the inference step counts the curve shows


class _Stepping:
    """The optimiser with the schedule stepped alongside (train_batch calls zero_grad and step)."""

    def __init__(self, opt, sched):
        self.opt, self.sched = opt, sched

    def zero_grad(self):
        self.opt.zero_grad()

    def step(self):
        self.opt.step()
        self.sched.step()


def train_arm(name: str, train_x, train_y, held: set[bytes], s: TRMSettings, tick) -> tuple[TRM, dict]:
    """One arm from the same seed: its EMA model, training seconds, optimiser steps and parameter count."""
    T, n, gradient = ARMS[name]
    torch.manual_seed(s.seed)
    config = TRMConfig(vocab_size=5, seq_len=16, hidden_size=s.hidden, T=T, n=n, gradient=gradient,
                       max_steps=s.train_steps, ema_decay=s.ema)
    model = TRM(config)
    ema = ema_of(model)
    opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / 50))  # warm-up: TRM is unstable without
    rng = np.random.default_rng(s.seed)
    gen = torch.Generator().manual_seed(s.seed)
    started, steps = time.perf_counter(), 0
    for _ in range(s.batches):
        idx = rng.integers(len(train_x), size=s.batch_size)
        pairs = [sudoku.augment(train_x[i].reshape(4, 4), train_y[i].reshape(4, 4), rng) for i in idx]
        pairs = [(p.ravel(), sol.ravel()) for p, sol in pairs if p.tobytes() not in held]
        if pairs:  # empty only in a tiny batch whose every augmented copy is a held-out puzzle
            x = torch.tensor(np.stack([p for p, _ in pairs]))
            y = torch.tensor(np.stack([sol for _, sol in pairs]))
            steps += train_batch(model, _Stepping(opt, sched), x, y, ema, gen)["steps"]
        tick()
    return ema.module.eval(), {"train_s": time.perf_counter() - started, "opt_steps": steps,
                               "params": sum(p.numel() for p in model.parameters())}


def run(s: TRMSettings, progress: Progress | None = None) -> StudyResult:
    """Train and evaluate every arm; tables `arms` (one row per arm) and `curve` (accuracy per inference step count)."""
    tick = ticker(progress, len(ARMS) * s.batches)

    with one_thread() as machine:
        x, y = sudoku.dataset(4, s.puzzles + s.held_out, seed=s.seed)
        train_x, train_y, test_x, test_y = x[: s.puzzles], y[: s.puzzles], x[s.puzzles:], y[s.puzzles:]
        held = {r.tobytes() for r in test_x}
        tx, ty = torch.tensor(test_x), torch.tensor(test_y)
        rows, curves = [], {}
        for name in ARMS:
            model, stats = train_arm(name, train_x, train_y, held, s, tick)
            preds, _ = model.solve(tx, steps=s.eval_steps, halt=False)
            curves[name] = [(p == ty).all(1).float().mean().item() for p in preds]
            halted, used = model.solve(tx, steps=s.eval_steps, halt=True)
            rows.append({"arm": name, "params": stats["params"], "train s": round(stats["train_s"], 1),
                         "opt steps": stats["opt_steps"], "acc @1": curves[name][0], f"acc @{s.eval_steps}": curves[name][-1],
                         "acc halting": (halted[-1] == ty).all(1).float().mean().item(),
                         "mean steps halting": used.float().mean().item(), "cell acc": (preds[-1] == ty).float().mean().item()})
    table = pd.DataFrame(rows)
    base = table.iloc[0]
    last = f"acc @{s.eval_steps}"
    table["acc ratio vs first"] = (table[last] / max(base[last], 1e-9)).round(2)
    table["time ratio vs first"] = (table["train s"] / base["train s"]).round(2)
    steps = [k for k in CURVE_STEPS if k <= s.eval_steps]
    curve = pd.DataFrame({"steps at inference": steps, **{name: [c[k - 1] for k in steps] for name, c in curves.items()}})
    header = (f"TRM on 4x4 Sudoku: {s.puzzles} train puzzles (mean {(train_x > 0).sum(1).mean():.1f} clues), "
              f"{s.held_out} held out; {s.batches} batches of {s.batch_size}, up to {s.train_steps} supervision "
              f"steps each; hidden {s.hidden}, MLP variant, EMA {s.ema} weights; seed {s.seed}")
    return StudyResult("trm", s, {"arms": table, "curve": curve}, header, ".3f",
                       ["curve: held-out whole-puzzle accuracy vs supervision steps at inference (no halting)"], machine)
