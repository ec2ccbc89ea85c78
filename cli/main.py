"""The `agora` command: the composition root above every package. Bad input ends in one red line naming the file
or field, exit code 2.

Each command module registers its commands here, imported explicitly; a third-party package adds its own through
the `agora.commands` entry-point group, loaded when the command runs (never at import, so nothing can cycle).
"""

from __future__ import annotations

import os

import typer

from agora.cli import bench, curriculum, dashboard, experiments, factqa, faults, loaders, memory, probes, reasoning, sim, training

app = typer.Typer(help="Agora: does optimising an LLM to win an audience make it deceptive?", no_args_is_help=True)
for module in (sim, training, probes, memory, reasoning, experiments, bench, faults, loaders, dashboard, factqa, curriculum):
    module.register(app)


@app.callback()
def main() -> None:
    """Quiet dataset-preparation bars and library chatter; training keeps its progress bar."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is downloaded at run time
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()


def cli() -> None:
    """The console script: the built-in commands plus any a plugin package registers."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="agora.commands"):
        ep.load()(app)
    app()


if __name__ == "__main__":
    cli()
