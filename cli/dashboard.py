"""`agora dashboard`: Streamlit on loopback unless asked otherwise, reading a run store (registered by entry point)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer

from agora.cli.common import StoreOpt, console, friendly
from agora.sim.lifetime import die_with_parent
from agora.sim.paths import default_store

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard_cmd)


@friendly
def dashboard_cmd(
    store: Optional[Path] = StoreOpt,
    port: int = typer.Option(8501, help="port to serve on"),
    host: str = typer.Option("127.0.0.1", help="address to serve on (0.0.0.0: every interface)"),
):
    """Browse runs, trade-offs, drift case studies and probe validation in the browser (read-only)."""
    root = (store or default_store()).resolve()
    if host not in LOOPBACK:
        console.print(f"[yellow]warning:[/] serving on {host}: anyone who can reach it can read this store (the "
                      "dashboard has no login)", highlight=False)
    console.print(f"Agora dashboard on [bold]http://{host}:{port}[/] reading {root} (Ctrl-C stops it)", highlight=False)
    cmd = streamlit_command(host, port)

    def stop(signum, frame):  # SIGTERM stops the server as Ctrl-C does, and Ctrl-C works in a background job too
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    server = subprocess.Popen(cmd, env={**os.environ, "AGORA_STORE": str(root)},
                              preexec_fn=functools.partial(die_with_parent, os.getpid()))  # no server outlives it
    try:
        raise typer.Exit(server.wait())
    except KeyboardInterrupt:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        raise typer.Exit(0) from None


def streamlit_command(host: str, port: int) -> list[str]:
    """The server `agora dashboard` starts: bound to `host` only, and without the developer toolbar (deploy, rerun,
    clear cache), which a reader of runs has no use for."""
    from agora import dashboard

    app = Path(dashboard.__file__).with_name("app.py")
    return [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", host, "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer"]

