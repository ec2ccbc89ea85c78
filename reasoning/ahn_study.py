"""AHN on associative recall with the keys beyond the window (`agora reasoning ahn`): window-only vs window + AHN vs
full attention.

A sequence is a sink token, P key-value pairs, filler, then Q of the keys again, each to be answered with its
value. By the first query the pairs have left the sliding window. A small transformer is first trained with
full attention to solve the task (the teacher); then, base frozen, only the AHN memory is trained by KL to the
teacher on the positions beyond the window. Accuracy is on held-out sequences; cache and FLOPs are counted
from the architecture (cache: floats held per sequence while decoding; FLOPs: one forward pass), at the task's
length and at 128k tokens.
"""

from __future__ import annotations

import time

import pandas as pd
import torch
import torch.nn.functional as F

from agora.reasoning.ahn import AHNConfig, AHNTransformer, cache_floats, distillation_loss, forward_flops
from agora.reasoning.settings import RECALL_KEYS, AHNSettings
from agora.reasoning.study import Progress, StudyResult, one_thread, ticker

SINK, QUERY, KEYS, VALUES, FILLER = 0, 1, 2, 2 + RECALL_KEYS, 34  # token ranges: keys 2..17, values 18..33, filler 34..47
VOCAB = 48
LONG = 131072  # the 128k context the costs are also counted at


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


def _fit(opt, steps: int, loss_of, tick) -> float:
    """`steps` one-cycle AdamW steps on `loss_of()`; the seconds they took."""
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    started = time.perf_counter()
    for _ in range(steps):
        loss = loss_of()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        tick()
    return time.perf_counter() - started


def run(s: AHNSettings, progress: Progress | None = None) -> StudyResult:
    """Teacher, then AHN distillation; table `recall`, one row per attention mode."""
    tick = ticker(progress, s.teacher_steps + s.ahn_steps)

    with one_thread() as machine:
        torch.manual_seed(s.seed)
        gen = torch.Generator().manual_seed(s.seed)

        def batch(n):
            return recall_batch(n, s.pairs, s.filler, s.queries, gen)

        test_ids, at = batch(s.held_out)
        length = test_ids.shape[1]
        config = AHNConfig(vocab_size=VOCAB, hidden_size=64, num_layers=2, num_heads=4, intermediate_size=256,
                           max_len=length, window=s.window, sinks=1)
        model = AHNTransformer(config)

        def teacher_loss():  # full attention, loss on the answers
            ids, at_ = batch(s.batch_size)
            return F.cross_entropy(model(ids, "full")[:, at_].flatten(0, 1), ids[:, at_ + 1].flatten())

        teacher_s = _fit(torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01), s.teacher_steps, teacher_loss, tick)
        model.eval()
        before = {mode: accuracy(model, test_ids, at, mode) for mode in ("full", "window", "ahn")}
        model.freeze_base()
        # AHN: self-distillation from full attention, beyond the window
        ahn_s = _fit(torch.optim.AdamW(model.memory_parameters(), lr=3e-3, weight_decay=0.0), s.ahn_steps,
                     lambda: distillation_loss(model, batch(s.batch_size)[0]), tick)
        model.eval()
        with torch.no_grad():
            kl = distillation_loss(model, test_ids[:256]).item()
        rows = [{"model": name, "recall acc": accuracy(model, test_ids, at, mode), "acc before AHN training": before[mode],
                 f"cache floats @{length}": cache_floats(config, length, mode), "cache @128k": cache_floats(config, LONG, mode),
                 f"MFLOPs @{length}": forward_flops(config, length, mode) / 1e6,
                 "GFLOPs @128k": forward_flops(config, LONG, mode) / 1e9}
                for mode, name in (("window", "window only"), ("ahn", "window + AHN"), ("full", "full attention"))]
    table = pd.DataFrame(rows)
    full = table.iloc[2]
    for col, ratio in ((f"cache floats @{length}", "cache x full"), ("cache @128k", "cache x full @128k"),
                       ("GFLOPs @128k", "FLOPs x full @128k")):
        table[ratio] = (table[col] / full[col]).round(4)
    trainable = sum(p.numel() for p in model.memory_parameters())
    header = (f"associative recall: {s.pairs} pairs, {s.filler} filler, {s.queries} queries; length {length}, "
              f"window {s.window} + 1 sink; chance {1 / (FILLER - VALUES):.3f}; {s.held_out} held-out sequences\n"
              f"teacher: {sum(p.numel() for p in model.parameters()) - trainable} params, {s.teacher_steps} steps in "
              f"{teacher_s:.0f} s; AHN: {trainable} trainable params, {s.ahn_steps} KL steps in {ahn_s:.0f} s; "
              f"held-out KL beyond window {kl:.4f}; seed {s.seed}")
    return StudyResult("ahn", s, {"recall": table}, header, ".4g", machine=machine)
