"""`agora bench`: costs measured side by side, printed as ratios (`agora.bench`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from agora.cli.common import ScenariosOpt, StoreOpt, console, friendly, open_store
from agora.sim.errors import AgoraError


def register(app: typer.Typer) -> None:
    app.command()(bench)


@friendly
def bench(
    what: str = typer.Argument("all", help="audience | cache | engines | serve | models | probes | gpu | all (all skips "
                                            "models: it loads two pretrained models and takes many minutes; --contests = "
                                            "prompts per task; and gpu)"),
    contests: int = typer.Option(10, help="contests per measurement"),
    cells: int = typer.Option(4, help="engines: sweep cells"),
    task: str = typer.Option("sales", help="sales | election | social"),
    scenarios: Optional[Path] = ScenariosOpt,
    shape: Optional[list[str]] = typer.Option(None, "--shape", help="gpu: tiny | 0.5b | 8b, repeatable (default: 8b "
                                                                     "and 0.5b on CUDA, tiny on CPU)"),
    quick: bool = typer.Option(False, "--quick", help="gpu: an eighth of the new tokens, one repeat (a smoke check)"),
    budget_seconds: Optional[float] = typer.Option(None, help="gpu: stop early (on a GPU at most 450 s)"),
    trainer: str = typer.Option("auto", help="gpu: the LoRA step through auto (TRL if it imports) | trl | torch"),
    seed: int = typer.Option(0, help="gpu: seeds weights, prompts and sampling"),
    from_: Optional[Path] = typer.Option(None, "--from", help="gpu: print and store the results `python bench/gpu.py "
                                                               "--out DIR` wrote on another machine (DIR)"),
    store: Optional[Path] = StoreOpt,
):
    """Measure side by side, as ratios: audience batching, the call cache, Ray vs the local pool, the local server,
    (`models`) batched policy generation and SmolLM2 vs Gemma 3 270M as policies, (`probes`) each probe's
    messages/s on both gold sets, (`gpu`) generation, judging and LoRA SFT on random-weight 8B and 0.5B shapes
    (tiny on CPU) and the study's cost on one GPU, saved to the store."""
    from agora.bench import audience as b

    known = ("audience", "cache", "engines", "serve", "models", "probes", "gpu", "all")
    if what not in known:
        raise AgoraError(f"agora bench: unknown benchmark {what!r}; use {', '.join(known)}")
    if what == "gpu":
        from rich.console import Console

        from agora.bench.gpu import GpuBenchSettings, gpu_bench, read_summary, render, save

        if from_:
            summary = read_summary(from_)
        else:
            settings = GpuBenchSettings(shapes=list(shape or []), quick=quick, budget_seconds=budget_seconds, seed=seed,
                                        trainer=trainer)
            progress = Console(stderr=True)
            summary = gpu_bench(settings, say=lambda m: progress.print(f"[dim]{m}[/]", highlight=False))
        render(summary, console)
        run_id, path = save(summary, open_store(store))
        console.print(f"saved as {run_id} ({path})", highlight=False)
        return
    if what in ("audience", "all"):
        b.audience_bench(console, Path(scenarios) if scenarios else None, contests, task)
    if what in ("cache", "all"):
        b.cache_bench(console, contests, task)
    if what in ("engines", "all"):
        b.engines_bench(console, cells, max(2, contests // 3))
    if what in ("serve", "all"):
        from agora.bench.serve import serve_bench

        serve_bench(console, Path(scenarios) if scenarios else None, max(2, contests // 3), task)
    if what == "models":
        from agora.bench.models import models_bench

        models_bench(console, contests, task, scenarios_dir=Path(scenarios) if scenarios else None)
    if what == "probes":
        from agora.bench.probes import probes_bench

        probes_bench(console)
    console.print(b.machine(), highlight=False)
