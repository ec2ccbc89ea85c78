"""TRM on 4×4 Sudoku on CPU: held-out accuracy vs supervision steps at inference, full-recursion vs 1-step gradient,
(T=3, n=6) vs (T=1, n=1) with the same network (equal parameters).

    python tests/bench/reasoning_trm.py [--batches 70] [--seed 0] [--quick]

Every arm trains the same number of batches on the same data (distinct minimal puzzles, augmented on the fly,
none equal to a held-out puzzle) and is evaluated with its EMA weights. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time

import numpy as np
import pandas as pd
import torch

from agora.reasoning import sudoku
from agora.reasoning.trm import TRM, TRMConfig, ema_of, train_batch

ARMS = {  # name -> (T, n, gradient)
    "T=3 n=6, full gradient": (3, 6, "full"),
    "T=3 n=6, 1-step gradient": (3, 6, "one_step"),
    "T=1 n=1, full gradient": (1, 1, "full"),
}


def train_arm(name, train_x, train_y, held, args) -> tuple[TRM, dict]:
    T, n, gradient = ARMS[name]
    torch.manual_seed(args.seed)
    config = TRMConfig(vocab_size=5, seq_len=16, hidden_size=args.hidden, T=T, n=n, gradient=gradient,
                       max_steps=args.train_steps, ema_decay=args.ema)
    model = TRM(config)
    ema = ema_of(model)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50))  # warm-up: TRM is unstable without
    rng = np.random.default_rng(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    started, steps = time.perf_counter(), 0
    for _ in range(args.batches):
        idx = rng.integers(len(train_x), size=args.batch_size)
        pairs = [sudoku.augment(train_x[i].reshape(4, 4), train_y[i].reshape(4, 4), rng) for i in idx]
        pairs = [(p.ravel(), s.ravel()) for p, s in pairs if p.tobytes() not in held]
        x = torch.tensor(np.stack([p for p, _ in pairs]))
        y = torch.tensor(np.stack([s for _, s in pairs]))
        out = train_batch(model, _Stepping(opt, sched), x, y, ema, gen)
        steps += out["steps"]
    return ema.module.eval(), {"train_s": time.perf_counter() - started, "opt_steps": steps,
                               "params": sum(p.numel() for p in model.parameters())}


class _Stepping:
    """The optimiser with the schedule stepped alongside (train_batch calls zero_grad and step)."""

    def __init__(self, opt, sched):
        self.opt, self.sched = opt, sched

    def zero_grad(self):
        self.opt.zero_grad()

    def step(self):
        self.opt.step()
        self.sched.step()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batches", type=int, default=70, help="training batches per arm")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--train-steps", type=int, default=6, help="deep-supervision steps while training")
    parser.add_argument("--eval-steps", type=int, default=16, help="supervision steps at inference")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--ema", type=float, default=0.99, help="EMA decay (paper 0.999: too slow for a few hundred steps)")
    parser.add_argument("--puzzles", type=int, default=1000)
    parser.add_argument("--held-out", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="a few seconds: tiny data, 3 batches")
    args = parser.parse_args()
    if args.quick:
        args.batches, args.puzzles, args.held_out, args.eval_steps, args.train_steps = 3, 60, 20, 4, 2
    torch.set_num_threads(1)
    random.seed(args.seed)
    torch.manual_seed(args.seed)

    x, y = sudoku.dataset(4, args.puzzles + args.held_out, seed=args.seed)
    train_x, train_y, test_x, test_y = x[: args.puzzles], y[: args.puzzles], x[args.puzzles:], y[args.puzzles:]
    held = {r.tobytes() for r in test_x}
    tx, ty = torch.tensor(test_x), torch.tensor(test_y)

    rows, curves = [], {}
    for name in ARMS:
        model, stats = train_arm(name, train_x, train_y, held, args)
        preds, _ = model.solve(tx, steps=args.eval_steps, halt=False)
        curves[name] = [(p == ty).all(1).float().mean().item() for p in preds]
        halted, used = model.solve(tx, steps=args.eval_steps, halt=True)
        rows.append({"arm": name, "params": stats["params"], "train s": round(stats["train_s"], 1),
                     "opt steps": stats["opt_steps"], "acc @1": curves[name][0], f"acc @{args.eval_steps}": curves[name][-1],
                     "acc halting": (halted[-1] == ty).all(1).float().mean().item(), "mean steps halting": used.float().mean().item(),
                     "cell acc": (preds[-1] == ty).float().mean().item()})
    table = pd.DataFrame(rows)
    base = table.iloc[0]
    table["acc ratio vs first"] = (table[f"acc @{args.eval_steps}"] / max(base[f"acc @{args.eval_steps}"], 1e-9)).round(2)
    table["time ratio vs first"] = (table["train s"] / base["train s"]).round(2)
    print(f"TRM on 4x4 Sudoku: {args.puzzles} train puzzles (mean {(train_x > 0).sum(1).mean():.1f} clues), "
          f"{args.held_out} held out; {args.batches} batches of {args.batch_size}, up to {args.train_steps} supervision "
          f"steps each; hidden {args.hidden}, MLP variant, EMA {args.ema} weights; seed {args.seed}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    steps = [s for s in (1, 2, 4, 8, 16) if s <= args.eval_steps]
    curve = pd.DataFrame({name: [c[s - 1] for s in steps] for name, c in curves.items()}, index=[f"{s} steps" for s in steps])
    print("\nheld-out whole-puzzle accuracy vs supervision steps at inference (no halting):")
    print(curve.to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"\nmachine: {platform.platform()}, {os.cpu_count()} CPUs (torch threads 1), torch {torch.__version__}")


if __name__ == "__main__":
    main()
