"""`agora import`: the reference study's source files into scenario files (`agora.loaders`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from agora.cli.common import console, friendly
from agora.sim.errors import AgoraError


def register(app: typer.Typer) -> None:
    app.command("import")(import_source)


@friendly
def import_source(
    kind: str = typer.Argument(..., help="amazon | candidates | cnn | personas"),
    source: Path = typer.Argument(..., help="the file (or CNN/DailyMail folder) as you have it on disk"),
    out: Path = typer.Argument(..., help="YAML file to write, e.g. my-scenarios/anchors/products.yaml"),
    limit: Optional[int] = typer.Option(None, help="stop after this many kept rows"),
):
    """Convert the reference study's source data (never downloaded) into a scenario file, with its filters."""
    from agora.loaders import study as sources

    loaders = {
        "amazon": sources.load_amazon_products,
        "candidates": sources.load_candidates_csv,
        "cnn": sources.load_cnn_dailymail,
    }
    if kind == "personas":
        loaded = sources.load_prodigy_personas(source)
        sources.dump_personas(loaded.items, out)
    elif kind in loaders:
        loaded = loaders[kind](source, limit=limit)
        sources.dump_anchors(loaded.items, out)
    else:
        raise AgoraError(f"unknown source kind {kind!r}; use amazon, candidates, cnn or personas")
    skipped = ", ".join(f"{n} {why}" for why, n in loaded.skipped.items()) or "none"
    console.print(f"kept {len(loaded.items)} from {source} (skipped: {skipped}); wrote {out}", highlight=False)
