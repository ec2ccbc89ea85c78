"""AHN on associative recall with the keys beyond the window: window-only vs window + AHN vs full attention.

    python tests/bench/reasoning_ahn.py [--teacher-steps 2000] [--ahn-steps 500] [--seed 0] [--quick]

A sequence is a sink token, P key-value pairs, filler, then Q of the keys again, each to be answered with its
value. By the first query the pairs have left the sliding window. A small transformer is first trained with
full attention to solve the task (the teacher); then, base frozen, only the AHN memory is trained by KL to the
teacher on the positions beyond the window. Accuracy is on held-out sequences; cache and FLOPs are counted
from the architecture (cache: floats held per sequence while decoding; FLOPs: one forward pass), at the task's
length and at 128k tokens. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time

import pandas as pd
import torch
import torch.nn.functional as F

from agora.reasoning.ahn import AHNConfig, AHNTransformer, cache_floats, distillation_loss, forward_flops

SINK, QUERY, KEYS, VALUES, FILLER = 0, 1, 2, 18, 34  # token ranges: keys 2..17, values 18..33, filler 34..47
VOCAB = 48


def recall_batch(batch: int, pairs: int, filler: int, queries: int, gen: torch.Generator):
    """(ids, answer positions): keys distinct within a sequence; each query key is followed by its value."""
    keys = torch.stack([torch.randperm(VALUES - KEYS, generator=gen)[:pairs] for _ in range(batch)]) + KEYS
    values = torch.randint(VALUES, FILLER, (batch, pairs), generator=gen)
    asked = torch.stack([torch.randperm(pairs, generator=gen)[:queries] for _ in range(batch)])
    context = torch.stack([keys, values], dim=2).flatten(1)
    noise = torch.randint(FILLER, VOCAB, (batch, filler), generator=gen)
    question = torch.stack([keys.gather(1, asked), values.gather(1, asked)], dim=2).flatten(1)
    ids = torch.cat([torch.full((batch, 1), SINK), context, noise, torch.full((batch, 1), QUERY), question], dim=1)
    start = 2 + 2 * pairs + filler  # position of the first query key
    return ids, torch.arange(start, ids.shape[1], 2)  # logits at a query key predict its value


def accuracy(model, ids, at, mode) -> float:
    with torch.no_grad():
        pred = model(ids, mode)[:, at].argmax(-1)
    return (pred == ids[:, at + 1]).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--filler", type=int, default=16)
    parser.add_argument("--queries", type=int, default=4)
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--teacher-steps", type=int, default=2000)
    parser.add_argument("--ahn-steps", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="a few seconds: 30 + 20 steps")
    args = parser.parse_args()
    if args.quick:
        args.teacher_steps, args.ahn_steps = 30, 20
    torch.set_num_threads(1)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    def batch(n):
        return recall_batch(n, args.pairs, args.filler, args.queries, gen)

    test_ids, at = batch(1000)
    length = test_ids.shape[1]
    config = AHNConfig(vocab_size=VOCAB, hidden_size=64, num_layers=2, num_heads=4, intermediate_size=256,
                       max_len=length, window=args.window, sinks=1)
    assert at[0] - 2 * args.pairs >= args.window  # every key has left the window before it is asked for

    model = AHNTransformer(config)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.teacher_steps, pct_start=0.1)
    started = time.perf_counter()
    for _ in range(args.teacher_steps):  # the teacher: full attention, loss on the answers
        ids, at_ = batch(args.batch_size)
        loss = F.cross_entropy(model(ids, "full")[:, at_].flatten(0, 1), ids[:, at_ + 1].flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    teacher_s = time.perf_counter() - started
    model.eval()
    before = {mode: accuracy(model, test_ids, at, mode) for mode in ("full", "window", "ahn")}

    model.freeze_base()
    opt = torch.optim.AdamW(model.memory_parameters(), lr=3e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.ahn_steps, pct_start=0.1)
    started = time.perf_counter()
    for _ in range(args.ahn_steps):  # AHN: self-distillation from full attention, beyond the window
        loss = distillation_loss(model, batch(args.batch_size)[0])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    ahn_s = time.perf_counter() - started
    model.eval()
    with torch.no_grad():
        kl = distillation_loss(model, test_ids[:256]).item()

    rows = []
    for mode, name in (("window", "window only"), ("ahn", "window + AHN"), ("full", "full attention")):
        rows.append({"model": name, "recall acc": accuracy(model, test_ids, at, mode),
                     "acc before AHN training": before[mode],
                     f"cache floats @{length}": cache_floats(config, length, mode),
                     "cache @128k": cache_floats(config, 131072, mode),
                     f"MFLOPs @{length}": forward_flops(config, length, mode) / 1e6,
                     "GFLOPs @128k": forward_flops(config, 131072, mode) / 1e9})
    table = pd.DataFrame(rows)
    full = table.iloc[2]
    for col, ratio in ((f"cache floats @{length}", "cache x full"), ("cache @128k", "cache x full @128k"),
                       ("GFLOPs @128k", "FLOPs x full @128k")):
        table[ratio] = (table[col] / full[col]).round(4)
    trainable = sum(p.numel() for p in model.memory_parameters())
    print(f"associative recall: {args.pairs} pairs, {args.filler} filler, {args.queries} queries; length {length}, "
          f"window {args.window} + 1 sink; chance {1 / (FILLER - VALUES):.3f}; 1000 held-out sequences")
    print(f"teacher: {sum(p.numel() for p in model.parameters()) - trainable} params, {args.teacher_steps} steps in "
          f"{teacher_s:.0f} s; AHN: {trainable} trainable params, {args.ahn_steps} KL steps in {ahn_s:.0f} s; "
          f"held-out KL beyond window {kl:.4f}; seed {args.seed}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs (torch threads 1), torch {torch.__version__}")


if __name__ == "__main__":
    main()
