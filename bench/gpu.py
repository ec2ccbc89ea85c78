"""`agora bench gpu`: what the study's protocol costs on one GPU, measured on random-weight models of its shapes.

Three measurements per model shape (`bench/shapes/*.json`: Qwen3-8B's, Qwen2.5-0.5B's for scaling, a tiny one for
CPUs), each at the study's settings (`Protocol`), then a cost model that turns them into hours:

1. policy generation tokens/s, temperature 0.7, the study's prompt length and 256 new tokens: all prompts in one
   `generate` call against one prompt per call (every call writes exactly its new tokens: EOS is held off);
2. audience judgments/s in the study's voter format: each ballot prompt scored with a short answer (prefill, as
   Agora's letter-scored audience does), 20 ballots (one contest) per batch against many contests per batch;
3. LoRA SFT tokens/s and peak memory, r 16, alpha 32, dropout 0.05 on the seven projections, lr 2e-4, 16 examples a
   step: through TRL's SFTTrainer when it imports, else a plain torch loop doing the same step (the table says which);
4. `cost_model`: hours for 3 tasks x 1024 train contests, one RFT and one TFB round, 3 x 1024 test contests in
   three pairings, 20 voters, an 8B policy and an 8B local audience.

Weights are random (`from_config`, nothing downloads) and prompts are random token ids of the study's lengths: speed
depends on shapes, not on what the tokens say. Every section times itself against its share of `--budget-seconds`
(on a GPU at most 450 s, so the command ends inside 8 minutes) and scales down its repeats, then its new tokens,
saying so in the notes.

Only the standard library is imported here at module level; torch, transformers and peft when a measurement runs;
pandas (Parquet) and Agora's store (pydantic) only if they import. So a copy of the working tree runs it on a GPU
image that has just torch, transformers, peft and accelerate:

    python bench/gpu.py --out results/      # then, where Agora is installed: agora bench gpu --from results/
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

SHAPES_DIR = Path(__file__).resolve().parent / "shapes"
GPU_LIMIT_S = 450.0  # the 8 minutes for the whole command on a GPU, less 30 s for imports and start-up
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]  # = training.config's


@dataclass(frozen=True)
class Protocol:
    """The study's settings (shared/REFERENCES.md). Token lengths are estimates: Agora's own prompts measured with a
    BPE tokenizer (about 4.3 characters a token), anchors and messages stretched to the study's lengths."""

    tasks: int = 3
    train_contests: int = 1024  # per task
    test_contests: int = 1024  # per task
    voters: int = 20
    samples_per_contest: int = 2  # two samples of the same model compete
    new_tokens: int = 256
    temperature: float = 0.7
    # the study-format generator prompt: sales ~250, election ~380, social ~300 tokens
    policy_prompt_tokens: int = 310
    # the voter prompt (role-play, biography, task, "## A"/"## B" with two ~120-token messages): 400-590 tokens
    ballot_prompt_tokens: int = 512
    ballot_answer_tokens: int = 8  # "<vote>A</vote>" and the end of turn, scored with the prompt
    persona_tokens: int = 140  # the biography in each ballot; a TFB thought example's prompt leaves it out
    voter_think_tokens: int = 128  # what a voter writes in <think> (not measurable on random weights: an assumption)
    test_policies: int = 3  # base, RFT, TFB: each writes once per test anchor
    test_pairings: int = 3  # base vs RFT, base vs TFB, RFT vs TFB
    thought_share: float = 0.5  # TFB: thought examples mixed about 50/50 with the winners
    epochs: int = 1
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    learning_rate: float = 2e-4
    batch_size: int = 16
    warmup_ratio: float = 0.03
    min_lr_ratio: float = 0.1

    @property
    def sft_example_tokens(self) -> int:
        """An RFT example: the generator prompt and the winner's whole completion (thinking included)."""
        return self.policy_prompt_tokens + self.new_tokens


@dataclass(frozen=True)
class Rates:
    """What the cost model reads from a shape's measurements."""

    generation_tokens_per_s: float  # batched
    judgments_per_s: float  # many contests per batch
    sft_tokens_per_s: float


def cost_model(rates: Rates, p: Protocol = Protocol()) -> list[dict]:
    """The study's protocol on one GPU, phase by phase: work / rate = seconds. Voters' thoughts are generated at the
    policy's batched rate (the audience is the same 8B shape); the last line is the total.

        train generation   tasks * train * samples * new_tokens            / generation tokens/s
        train judging      tasks * train * voters                          / judgments/s
        train thoughts     tasks * train * voters * think_tokens           / generation tokens/s
        RFT SFT            tasks * train * (prompt + new_tokens) * epochs  / SFT tokens/s
        TFB SFT            tasks * train * (prompt + new_tokens
                             + share/(1-share) * (ballot - persona + think)) * epochs / SFT tokens/s
        test generation    tasks * test * test_policies * new_tokens       / generation tokens/s
        test judging       tasks * test * pairings * voters                / judgments/s
        test thoughts      tasks * test * pairings * voters * think_tokens / generation tokens/s
    """
    train, test = p.tasks * p.train_contests, p.tasks * p.test_contests
    thought_example = p.ballot_prompt_tokens - p.persona_tokens + p.voter_think_tokens
    per_winner = p.thought_share / (1 - p.thought_share)
    gen, judge, sft = rates.generation_tokens_per_s, rates.judgments_per_s, rates.sft_tokens_per_s
    work = [
        ("train generation", train * p.samples_per_contest * p.new_tokens, "tokens", gen),
        ("train judging", train * p.voters, "judgments", judge),
        ("train voter thoughts", train * p.voters * p.voter_think_tokens, "tokens", gen),
        ("RFT SFT", train * p.sft_example_tokens * p.epochs, "tokens", sft),
        ("TFB SFT", round(train * (p.sft_example_tokens + per_winner * thought_example) * p.epochs), "tokens", sft),
        ("test generation", test * p.test_policies * p.new_tokens, "tokens", gen),
        ("test judging", test * p.test_pairings * p.voters, "judgments", judge),
        ("test voter thoughts", test * p.test_pairings * p.voters * p.voter_think_tokens, "tokens", gen),
    ]
    lines = [{"phase": phase, "work": amount, "unit": unit, "rate": rate, "seconds": amount / rate if rate > 0 else float("inf")}
             for phase, amount, unit, rate in work]
    lines.append({"phase": "total", "work": None, "unit": "", "rate": None, "seconds": sum(l["seconds"] for l in lines)})
    return lines


@dataclass
class GpuBenchSettings:
    """What `agora bench gpu` was asked for; saved as the store entry's record, so `agora rerun` repeats it."""

    shapes: list[str] = field(default_factory=list, metadata={"help": "shape names in bench/shapes/; default: 8b and "
                                                                       "0.5b on CUDA, tiny on CPU"})
    quick: bool = field(default=False, metadata={"help": "an eighth of the new tokens, one repeat: a smoke check"})
    budget_seconds: float | None = field(default=None, metadata={"help": "stop early; default and cap on a GPU: 450"})
    seed: int = field(default=0, metadata={"help": "seeds weights, prompts and sampling"})
    trainer: str = field(default="auto", metadata={"help": "auto (TRL if it imports) | trl | torch"})

    def __post_init__(self):
        known = sorted(p.stem for p in SHAPES_DIR.glob("*.json"))
        for s in self.shapes:
            if s not in known:
                raise _error(f"--shape: unknown shape {s!r}; the shapes in {SHAPES_DIR} are {', '.join(known)}")
        if self.trainer not in ("auto", "trl", "torch"):
            raise _error(f"--trainer: {self.trainer!r}; use auto, trl or torch")
        if self.budget_seconds is not None and self.budget_seconds <= 0:
            raise _error(f"--budget-seconds must be positive, got {self.budget_seconds}")


def _error(message: str) -> Exception:
    try:
        from agora.sim.errors import AgoraError
    except ImportError:  # run from a bare copy of the tree
        return ValueError(message)
    return AgoraError(message)


def load_shape(name: str) -> dict:
    path = SHAPES_DIR / f"{name}.json"
    shape = json.loads(path.read_text())
    for key in ("model", "bench"):
        if not isinstance(shape.get(key), dict):
            raise _error(f"{path}: '{key}' must be an object (a transformers config / the bench's batch sizes)")
    return shape


# -- measuring ---------------------------------------------------------------------------------------------------

class Clock:
    """A deadline and the shares of what is left before it."""

    def __init__(self, seconds: float):
        self.deadline = time.perf_counter() + seconds

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def share(self, fraction: float) -> float:
        """The deadline of a section given `fraction` of the time left."""
        return time.perf_counter() + max(self.left(), 0.0) * fraction


def _timed(fn, sync) -> float:
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def _repeat(fn, sync, until: float, most: int) -> float:
    """Mean seconds of `fn` over at least one run and at most `most`, stopping when another would pass `until`."""
    times = [_timed(fn, sync)]
    while len(times) < most and time.perf_counter() + sum(times) / len(times) < until:
        times.append(_timed(fn, sync))
    return sum(times) / len(times)


class _Run:
    """One shape on one device: the model, the prompts' generator, and what the sections write down."""

    def __init__(self, name: str, shape: dict, device: str, seed: int, quick: bool, p: Protocol, trainer: str = "auto"):
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM

        self.torch, self.name, self.device, self.seed, self.quick, self.p = torch, name, device, seed, quick, p
        self.trainer = trainer
        self.bench = shape["bench"]
        self.cuda = device == "cuda"
        self.dtype = torch.bfloat16 if self.cuda else torch.float32  # bf16 matmuls on CPU are slow, not the study
        config = AutoConfig.for_model(**shape["model"])
        config.use_cache = True
        torch.manual_seed(seed)
        started = time.perf_counter()
        with torch.device(device):  # weights made where they run: an 8B model's init on the CPU takes minutes
            self.model = AutoModelForCausalLM.from_config(config, dtype=self.dtype).eval()
        self.vocab = config.vocab_size
        self.new_tokens = int(self.bench.get("new_tokens", p.new_tokens))
        if quick:
            self.new_tokens = max(4, self.new_tokens // 8)
        self.most = 1 if quick else int(self.bench.get("repeats", 3))  # timed runs of each audience mode
        self.settings = {"about": shape.get("about", ""), "parameters": sum(x.numel() for x in self.model.parameters()),
                         "dtype": str(self.dtype).removeprefix("torch."), "build_s": round(time.perf_counter() - started, 2)}
        self.figures: dict[str, float] = {}
        self.notes: list[str] = []

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def ids(self, rows: int, length: int, salt: int):
        g = self.torch.Generator(device=self.device).manual_seed(self.seed * 1000 + salt)
        return self.torch.randint(3, self.vocab, (rows, length), generator=g, device=self.device)

    def generate(self, prompts, new_tokens: int, seed: int) -> int:
        """Sampled at the study's temperature; exactly `new_tokens` per prompt (EOS held off). Returns tokens made."""
        self.torch.manual_seed(seed)
        with self.torch.inference_mode():
            out = self.model.generate(prompts, attention_mask=self.torch.ones_like(prompts), do_sample=True,
                                      temperature=self.p.temperature, max_new_tokens=new_tokens,
                                      min_new_tokens=new_tokens, pad_token_id=0)
        return (out.shape[1] - prompts.shape[1]) * out.shape[0]

    def generation(self, until: float) -> None:
        batch, singles = int(self.bench["gen_batch"]), 1 if self.quick else int(self.bench["single_prompts"])
        prompts = self.ids(batch, self.p.policy_prompt_tokens, 1)
        self.generate(prompts[:2], 2, self.seed)  # warm-up: kernels, allocator
        # a short probe of both modes sets how many new tokens the section's share can afford
        probe = 8
        t_batch = _timed(lambda: self.generate(prompts, probe, self.seed), self.sync) / probe
        t_single = _timed(lambda: self.generate(prompts[:1], probe, self.seed), self.sync) / probe
        left = until - time.perf_counter()
        new = self.new_tokens
        if new * (t_batch + singles * t_single) > left and singles > 1:
            singles = 1
        if new * (t_batch + singles * t_single) > left:
            new = min(new, max(probe, int(left / (t_batch + singles * t_single))))
            if new < self.new_tokens:
                self.notes.append(f"{self.name}: generation scaled down to {new} new tokens to fit the budget")
        made = {}
        secs = _timed(lambda: made.update(b=self.generate(prompts, new, self.seed)), self.sync)
        single_s = _timed(lambda: made.update(s=sum(self.generate(prompts[i:i + 1], new, self.seed + i)
                                                     for i in range(singles))), self.sync)
        self.figures.update(gen_batched=made["b"] / secs, gen_single=made["s"] / single_s)
        self.figures["gen_ratio"] = self.figures["gen_batched"] / self.figures["gen_single"]
        self.settings.update(gen_prompts=batch, gen_single_prompts=singles, prompt_tokens=self.p.policy_prompt_tokens,
                             new_tokens=new, temperature=self.p.temperature)

    def score(self, ballots) -> None:
        """Each ballot's answer scored after its prompt: logits only at the answer's positions (a full vocabulary
        for every prompt token would be most of the memory and none of the point)."""
        a = self.p.ballot_answer_tokens
        with self.torch.inference_mode():
            logits = self.model(input_ids=ballots, logits_to_keep=a + 1, use_cache=False).logits[:, :-1]
            logits.float().log_softmax(-1).gather(-1, ballots[:, -a:, None]).sum((1, 2))

    def audience(self, until: float) -> None:
        voters, contests = self.p.voters, int(self.bench["contests_per_batch"])
        length = self.p.ballot_prompt_tokens + self.p.ballot_answer_tokens
        one = self.ids(voters, length, 2)
        self.score(one[:2])  # warm-up
        t_one = _timed(lambda: self.score(one), self.sync)
        half = (until - time.perf_counter()) / 2
        fits = max(1, int(half / max(t_one, 1e-9)))
        if contests > fits and contests > 2:
            contests = max(2, fits)
            self.notes.append(f"{self.name}: audience batches cut to {contests} contests to fit the budget")
        many = self.ids(voters * contests, length, 3)
        per_contest = _repeat(lambda: [self.score(one) for _ in range(contests)], self.sync,
                              time.perf_counter() + half, self.most)
        per_batch = _repeat(lambda: self.score(many), self.sync, until, self.most)
        self.figures.update(judge_contest=voters * contests / per_contest, judge_many=voters * contests / per_batch)
        self.figures["judge_ratio"] = self.figures["judge_many"] / self.figures["judge_contest"]
        self.settings.update(ballot_tokens=length, contests_per_batch=contests, voters=voters)

    def sft(self, until: float) -> None:
        from peft import LoraConfig, get_peft_model

        p, torch = self.p, self.torch
        micro = min(int(self.bench["micro_batch"]), p.batch_size)
        accumulate = p.batch_size // micro
        prompt, seq = p.policy_prompt_tokens, p.sft_example_tokens
        steps = 2 if self.quick else int(self.bench.get("sft_steps", 6))  # the first is a warm-up, never timed
        ids = self.ids(p.batch_size * steps, seq, 4)
        lora = LoraConfig(r=p.lora_r, lora_alpha=p.lora_alpha, lora_dropout=p.lora_dropout,
                          target_modules=LORA_TARGETS, task_type="CAUSAL_LM")
        self.model.config.use_cache = False
        model = get_peft_model(self.model, lora)
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()
        use_trl = self.trainer == "trl" or (self.trainer == "auto" and _imports("trl", "datasets"))
        times = (_trl_steps if use_trl else _torch_steps)(self, model, ids, micro, accumulate, prompt, steps, until)
        timed = times[1:] or times  # one step only (budget spent): its time, warm-up and all
        self.figures["sft_tokens"] = p.batch_size * seq * len(timed) / sum(timed)
        if self.cuda:
            self.figures["sft_peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
            memory = "torch.cuda.max_memory_allocated"
        else:
            self.figures["sft_peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30
            memory = "the process's peak RSS (CPU)"
        self.settings.update(sft_trainer="TRL SFTTrainer" if use_trl else "plain torch loop", sft_sequence=seq,
                             sft_micro_batch=micro, sft_accumulate=accumulate, sft_steps_timed=len(timed),
                             gradient_checkpointing=self.cuda, sft_memory=memory,
                             lora=f"r {p.lora_r}, alpha {p.lora_alpha}, dropout {p.lora_dropout}, {len(LORA_TARGETS)} projections")


def _imports(*names: str) -> bool:
    import importlib.util

    return all(importlib.util.find_spec(n) is not None for n in names)


def _torch_steps(run: _Run, model, ids, micro, accumulate, prompt, steps, until) -> list[float]:
    """The step SFTTrainer takes, by hand: AdamW on the adapter, cosine with a floor, bf16 autocast on CUDA,
    activations checkpointed on CUDA (as Agora's trainer sets TRL), loss on the completion only."""
    import contextlib

    from transformers import get_scheduler

    torch, p = run.torch, run.p
    if run.cuda:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    params = [x for x in model.parameters() if x.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=p.learning_rate)
    schedule = get_scheduler("cosine_with_min_lr", optimiser, num_warmup_steps=max(1, round(p.warmup_ratio * steps)),
                             num_training_steps=steps, scheduler_specific_kwargs={"min_lr_rate": p.min_lr_ratio})
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if run.cuda else contextlib.nullcontext()
    times = []
    for step in range(steps):
        def one():
            for k in range(accumulate):
                batch = ids[(step * accumulate + k) * micro:(step * accumulate + k + 1) * micro]
                labels = batch.clone()
                labels[:, :prompt] = -100
                with autocast:
                    loss = model(input_ids=batch, labels=labels).loss / accumulate
                loss.backward()
            optimiser.step()
            schedule.step()
            optimiser.zero_grad(set_to_none=True)
        times.append(_timed(one, run.sync))
        if len(times) >= 2 and time.perf_counter() + times[-1] > until:
            break
    return times


def _trl_steps(run: _Run, model, ids, micro, accumulate, prompt, steps, until) -> list[float]:
    """TRL's SFTTrainer on the same tokens (pre-tokenised, completion mask), timed step by step by a callback."""
    import tempfile

    from datasets import Dataset
    from datasets.utils.logging import disable_progress_bar, enable_progress_bar, is_progress_bar_enabled
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast, PrinterCallback, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    p, sync = run.p, run.sync
    rows = ids.cpu().tolist()
    seq = ids.shape[1]
    data = Dataset.from_dict({"input_ids": rows, "completion_mask": [[0] * prompt + [1] * (seq - prompt)] * len(rows)})
    # SFTTrainer wants a tokenizer for its padding token only: the ids are made already
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel({"<pad>": 0, "<eos>": 1}, unk_token="<pad>")),
                                        pad_token="<pad>", eos_token="<eos>")
    times: list[float] = []

    class Steps(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            sync()
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            sync()
            times.append(time.perf_counter() - self.start)
            if len(times) >= 2 and time.perf_counter() + times[-1] > until:
                control.should_training_stop = True

    bars = is_progress_bar_enabled()
    disable_progress_bar()  # datasets' bars for the labels TRL builds: noise beside the one table
    with tempfile.TemporaryDirectory() as tmp:
        args = SFTConfig(output_dir=tmp, max_steps=steps, per_device_train_batch_size=micro,
                         gradient_accumulation_steps=accumulate, learning_rate=p.learning_rate,
                         lr_scheduler_type="cosine_with_min_lr", lr_scheduler_kwargs={"min_lr_rate": p.min_lr_ratio},
                         warmup_steps=p.warmup_ratio, bf16=run.cuda, use_cpu=not run.cuda,
                         gradient_checkpointing=run.cuda, completion_only_loss=True, max_length=seq, seed=run.seed,
                         save_strategy="no", report_to=[], logging_steps=10**6, disable_tqdm=True,
                         dataloader_num_workers=0)
        trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer, callbacks=[Steps()])
        trainer.remove_callback(PrinterCallback)  # it prints the train metrics dict
        trainer.train()
    if bars:
        enable_progress_bar()
    return times


# -- the command -------------------------------------------------------------------------------------------------

ROWS = [  # (key, label, format)
    ("gen_batched", "policy generation, all prompts in one call — tokens/s", ",.0f"),
    ("gen_single", "policy generation, one prompt per call — tokens/s", ",.1f"),
    ("gen_ratio", "  batched ÷ one at a time", ".1f×"),
    ("judge_contest", "audience, 20 ballots (one contest) per batch — judgments/s", ",.1f"),
    ("judge_many", "audience, many contests per batch — judgments/s", ",.1f"),
    ("judge_ratio", "  many contests ÷ one contest per batch", ".2f×"),
    ("sft_tokens", "LoRA SFT step — tokens/s", ",.0f"),
    ("sft_peak_gib", "LoRA SFT peak memory — GiB", ".2f"),
]


def default_shapes(cuda: bool) -> list[str]:
    return ["8b", "0.5b"] if cuda else ["tiny"]


def gpu_bench(settings: GpuBenchSettings, say=lambda _: None, p: Protocol = Protocol()) -> dict:
    """Measure each shape in turn (the first gets most of the budget), and cost the study from each. Returns the
    summary (JSON-ready) that `render` prints and `save` keeps."""
    import torch

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    shapes = settings.shapes or default_shapes(cuda)
    budget = settings.budget_seconds or (GPU_LIMIT_S if cuda else 600.0)
    if cuda:
        budget = min(budget, GPU_LIMIT_S)
    threads = torch.get_num_threads()
    if not cuda:  # one thread: a shared CPU's spinning threads time the neighbours, not the model
        torch.set_num_threads(1)
    try:
        return _measure(settings, shapes, device, Clock(budget), say, p)
    finally:
        torch.set_num_threads(threads)


def _measure(settings: GpuBenchSettings, shapes: list[str], device: str, clock: Clock, say, p: Protocol) -> dict:
    import torch

    cuda, started, notes, results = device == "cuda", time.perf_counter(), [], {}
    for n, name in enumerate(shapes):
        if n and clock.left() < (30 if cuda else 1):
            notes.append(f"{name}: skipped, the budget was spent")
            continue
        say(f"{name}: building on {device}")
        shape_until = clock.share(0.75 if n < len(shapes) - 1 else 1.0)
        shape_started = time.perf_counter()
        run = _Run(name, load_shape(name), device, settings.seed, settings.quick, p, settings.trainer)
        section = Clock(shape_until - time.perf_counter())
        took = {"build": run.settings["build_s"]}
        for part, share in (("generation", 0.45), ("audience", 0.35), ("sft", 1.0)):
            say(f"{name}: {part}")
            begun = time.perf_counter()
            getattr(run, part)(section.share(share))
            took[part] = round(time.perf_counter() - begun, 2)
        run.settings["section_s"] = took
        results[name] = {"settings": run.settings, "figures": run.figures, "seconds": round(time.perf_counter() - shape_started, 2)}
        notes += run.notes
        del run
        gc.collect()  # the next shape's peak memory must not hold this one's weights
        if cuda:
            torch.cuda.empty_cache()
    cost = {name: cost_model(Rates(r["figures"]["gen_batched"], r["figures"]["judge_many"], r["figures"]["sft_tokens"]), p)
            for name, r in results.items()}
    return {"settings": asdict(settings) | {"shapes": shapes}, "device": device, "machine": machine(),
            "protocol": asdict(p), "shapes": results, "cost": cost, "notes": notes,
            "seconds": round(time.perf_counter() - started, 2)}


def machine() -> dict:
    import torch

    out = {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
           "torch_threads": torch.get_num_threads(), "python": platform.python_version()}
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
    for name in ("transformers", "peft", "trl"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:
            out[name] = None
    return out


def table_rows(summary: dict) -> tuple[list[str], list[list[str]]]:
    """Column names and rows as printed: one column per shape, and the first shape over the second as a ratio."""
    names = list(summary["shapes"])
    columns = ["measure", *names] + ([f"{names[0]} ÷ {names[1]}"] if len(names) > 1 else [])

    def fmt(value, spec):
        if value is None:
            return "n/a"
        suffix = "×" if spec.endswith("×") else ""
        return f"{value:{spec.rstrip('×')}}{suffix}"

    def ratio(a, b):
        return f"{a / b:.3g}" if len(names) > 1 and a is not None and b else None

    rows = []
    for key, label, spec in ROWS:
        values = [summary["shapes"][n]["figures"].get(key) for n in names]
        rows.append([label, *(fmt(v, spec) for v in values)] + ([ratio(values[0], values[1]) or "n/a"] if len(names) > 1 else []))
    for i, line in enumerate(summary["cost"][names[0]] if names else []):
        hours = [summary["cost"][n][i]["seconds"] / 3600 for n in names]
        label = f"study cost: {line['phase']} — h" if line["phase"] != "total" else "study cost: total on one GPU — h"
        rows.append([label, *(f"{h:,.2f}" for h in hours)] + ([ratio(hours[0], hours[1]) or "n/a"] if len(names) > 1 else []))
    return columns, rows


def caption(summary: dict) -> str:
    parts = []
    for name, r in summary["shapes"].items():
        s = r["settings"]
        parts.append(f"{name} ({s['parameters'] / 1e6:,.1f}M params, {s['dtype']}): {s['gen_prompts']} prompts × "
                     f"{s['prompt_tokens']} tokens + {s['new_tokens']} new at T {s['temperature']}, {s['gen_single_prompts']} "
                     f"alone; ballots {s['ballot_tokens']} tokens, {s['contests_per_batch']} contests a batch; SFT "
                     f"{s['sft_micro_batch']}×{s['sft_accumulate']} × {s['sft_sequence']} tokens, {s['sft_trainer']}"
                     f"{', checkpointed' if s['gradient_checkpointing'] else ''}; memory: {s['sft_memory']}")
    return "\n".join(parts)


def render(summary: dict, console=None) -> None:
    """One table: the measures and the study's cost by phase, a column per shape (rich if it imports)."""
    columns, rows = table_rows(summary)
    m = summary["machine"]
    where = m.get("gpu") or f"CPU, {m['cpus']} cores, torch threads {m['torch_threads']}"
    title = f"agora bench gpu — {where}, torch {m['torch']}; random weights, the study's settings"
    p = summary["protocol"]
    foot = (f"{caption(summary)}\nstudy cost: {p['tasks']} tasks × {p['train_contests']} train + {p['test_contests']} "
            f"test contests, {p['voters']} voters thinking {p['voter_think_tokens']} tokens each (assumed), one RFT and "
            f"one TFB round, {p['test_pairings']} test pairings; judged at the many-contest rate, generated at the batched rate")
    foot += "".join(f"\nnote: {n}" for n in summary["notes"])
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(str(r[i])) for r in [columns, *rows]) for i in range(len(columns))]
        print(title)
        for r in [columns, *rows]:
            print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        print(foot)
        return
    console = console or Console(width=200)
    table = Table()
    for i, c in enumerate(columns):
        table.add_column(c, justify="left" if i == 0 else "right")
    for i, r in enumerate(rows):
        table.add_row(*r, end_section=i == len(ROWS) - 1)
    console.print(title, highlight=False)
    console.print(table)
    console.print(foot, highlight=False)


def write_files(summary: dict, path: Path) -> list[str]:
    """figures and cost as Parquet when pandas and pyarrow import (else only JSON), and summary.json (all of it)."""
    path.mkdir(parents=True, exist_ok=True)
    figures = [{"shape": n, "measure": k, "value": v} for n, r in summary["shapes"].items() for k, v in r["figures"].items()]
    cost = [{"shape": n, **line} for n, lines in summary["cost"].items() for line in lines]
    written = []
    if _imports("pandas", "pyarrow"):
        import pandas as pd

        for name, rows in (("figures", figures), ("cost", cost)):
            pd.DataFrame(rows).to_parquet(path / f"{name}.parquet", index=False)
            written.append(f"{name}.parquet")
    (path / "summary.json").write_text(json.dumps(summary, indent=2))
    return written + ["summary.json"]


def read_summary(path: Path) -> dict:
    file = path / "summary.json" if path.is_dir() else path
    try:
        summary = json.loads(file.read_text())
    except (OSError, ValueError) as err:
        raise _error(f"{file}: cannot read a bench summary ({type(err).__name__}); give the folder `--out` wrote") from None
    if not isinstance(summary, dict) or not {"shapes", "cost", "settings"} <= set(summary):
        raise _error(f"{file}: not a `agora bench gpu` summary (needs shapes, cost and settings)")
    return summary


GpuBenchRecord = None  # a store entry needs Agora's records (pydantic); a bare GPU image writes files to a folder
if __name__ != "__main__":  # run as a script, this copy writes files only (the imported one registers the record)
    try:
        from agora.sim.records import Record, settings_record
    except ImportError:
        pass
    else:
        class _Rerun(Record):
            def run(self, store, say=lambda _: None) -> str:
                return save(gpu_bench(self.settings(), say), store)[0]

        GpuBenchRecord = settings_record(GpuBenchSettings, "bench-gpu", _Rerun)


def save(summary: dict, store) -> tuple[str, Path]:
    """A store entry of kind `bench-gpu`: config.yaml is the record, figures.parquet and cost.parquet, summary.json."""
    if GpuBenchRecord is None:
        raise _error("a store entry needs Agora installed (pydantic); write files with `python bench/gpu.py --out DIR` "
                     "and store them where Agora is, with `agora bench gpu --from DIR`")
    s = summary["settings"]
    record = GpuBenchRecord(**{k: s[k] for k in ("shapes", "quick", "budget_seconds", "seed", "trainer")})
    run_id, path = store.create_entry(record, seed=record.seed)
    write_files(summary, path)
    total = {n: lines[-1]["seconds"] / 3600 for n, lines in summary["cost"].items()}
    store.update(run_id, status="finished", seconds=summary["seconds"],
                 metrics=json.dumps({f"study_hours_{n}": round(h, 2) for n, h in total.items()}))
    return run_id, path


def main(argv: list[str] | None = None) -> None:
    """The standalone entry: `python bench/gpu.py` or `python -m agora.bench.gpu`, files to `--out`."""
    parser = argparse.ArgumentParser(prog="agora.bench.gpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", action="append", default=[], help="tiny | 0.5b | 8b (repeatable)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--budget-seconds", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trainer", default="auto", choices=["auto", "trl", "torch"])
    parser.add_argument("--out", type=Path, default=Path("bench-gpu"), help="folder for summary.json (+ Parquet)")
    args = parser.parse_args(argv)
    settings = GpuBenchSettings(shapes=args.shape, quick=args.quick, budget_seconds=args.budget_seconds,
                                seed=args.seed, trainer=args.trainer)
    summary = gpu_bench(settings, say=lambda m: print(m, file=sys.stderr, flush=True))
    render(summary)
    print(f"wrote {', '.join(write_files(summary, args.out))} to {args.out}")


def _bootstrap() -> None:
    """Run from a copy of the tree with Agora not installed: `agora.X` is the folder X beside this one's parent."""
    root = Path(__file__).resolve().parents[1]
    if sys.path and Path(sys.path[0]).resolve() == root / "bench":
        sys.path.pop(0)  # bench/models.py etc. must not shadow anything
    try:
        import agora.bench  # noqa: F401  (installed, or already bootstrapped)
    except ImportError:
        import types

        package = types.ModuleType("agora")
        package.__path__ = [str(root)]
        sys.modules["agora"] = package


if __name__ == "__main__":
    if __package__ in (None, ""):
        _bootstrap()
        from agora.bench.gpu import main as _main
    else:
        _main = main
    _main()
