"""`agora bench`: costs measured side by side, printed as ratios (`agora.bench`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from agora.cli.common import ScenariosOpt, console, friendly
from agora.sim.errors import AgoraError


def register(app: typer.Typer) -> None:
    app.command()(bench)


@friendly
def bench(
    what: str = typer.Argument("all", help="audience | cache | engines | serve | models | probes | all (all skips models: "
                                            "it loads two pretrained models and takes many minutes; --contests = prompts "
                                            "per task)"),
    contests: int = typer.Option(10, help="contests per measurement"),
    cells: int = typer.Option(4, help="engines: sweep cells"),
    task: str = typer.Option("sales", help="sales | election | social"),
    scenarios: Optional[Path] = ScenariosOpt,
):
    """Measure side by side, as ratios: audience batching, the call cache, Ray vs the local pool, the local server,
    (`models`) batched policy generation and SmolLM2 vs Gemma 3 270M as policies, (`probes`) each probe's
    messages/s on both gold sets."""
    from agora.bench import audience as b

    known = ("audience", "cache", "engines", "serve", "models", "probes", "all")
    if what not in known:
        raise AgoraError(f"agora bench: unknown benchmark {what!r}; use {', '.join(known)}")
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
