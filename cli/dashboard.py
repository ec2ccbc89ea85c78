"""`agora dashboard`: Streamlit on 127.0.0.1, reading a run store (registered by entry point)."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer

from agora.cli.common import StoreOpt, console, friendly
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
    from agora import dashboard

    app = Path(dashboard.__file__).with_name("app.py")
    console.print(f"Agora dashboard on [bold]http://127.0.0.1:{port}[/] reading {root} (Ctrl-C stops it)", highlight=False)
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", "127.0.0.1", "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false"]

    def stop(signum, frame):  # SIGTERM stops the server as Ctrl-C does, and Ctrl-C works in a background job too
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    server = subprocess.Popen(cmd, env={**os.environ, "AGORA_STORE": str(root)}, preexec_fn=_dies_with_parent)
    try:
        raise typer.Exit(server.wait())
    except KeyboardInterrupt:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        raise typer.Exit(0) from None


def _dies_with_parent() -> None:
    """In the Streamlit child, before it starts: on Linux the kernel kills it when `agora dashboard` dies, however it
    dies (kill -9 included), so no server outlives the command that owns it. SIGKILL, since a Streamlit server
    with a session open can sit on SIGTERM; the dashboard only reads the store, so nothing is lost."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
