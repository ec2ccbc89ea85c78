"""`agora dashboard`: Streamlit on 127.0.0.1, reading a run store (registered by entry point)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer

from agora.sim.cli import StoreOpt, console, friendly
from agora.sim.paths import default_store


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard_cmd)


@friendly
def dashboard_cmd(
    store: Optional[Path] = StoreOpt,
    port: int = typer.Option(8501, help="port on 127.0.0.1"),
):
    """Browse runs, trade-offs, drift case studies and probe validation in the browser (read-only)."""
    root = (store or default_store()).resolve()
    app = Path(__file__).with_name("app.py")
    console.print(f"Agora dashboard on [bold]http://127.0.0.1:{port}[/] reading {root} (Ctrl-C stops it)", highlight=False)
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", "127.0.0.1", "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    try:
        raise typer.Exit(subprocess.call(cmd, env={**os.environ, "AGORA_STORE": str(root)}))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
