"""What every `agora` command shares: the console, the store and scenarios options, one-line errors, the progress
bar. Command modules import this, never `agora.cli.main`, so any of them can be imported first."""

from __future__ import annotations

import errno
import functools
import os
import sqlite3
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agora.sim.errors import AgoraError
from agora.sim.paths import default_store

console = Console() if sys.stdout.isatty() else Console(width=200)  # piped tables stay whole
StoreOpt = typer.Option(None, "--store", help="run store folder (default: $AGORA_STORE or ./runs)")
ScenariosOpt = typer.Option(None, "--scenarios", help="scenarios folder (default: the one shipped)")


# a full disk, a file-size limit, a quota, a read-only mount, no permission: the machine's state, not a bug
_DISK_ERRORS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
# the same states as the libraries that raise no OSError word them (safetensors: "I/O error: No space left on device
# (os error 28)")
_FULL = tuple(os.strerror(e) for e in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS))


RESUME = "resume it with `agora run --resume RUN_ID`"  # only `agora run` has --resume
AGAIN = "run the same command again"


def friendly(fn=None, *, next_step: str = AGAIN):
    """Turn AgoraError, a store that cannot be written and Ctrl-C into one plain line instead of a traceback.
    `next_step`: what finishes the work a stopped command leaves, as `@friendly(next_step=RESUME)`."""
    if fn is None:
        return functools.partial(friendly, next_step=next_step)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AgoraError as err:
            console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except OSError as err:
            if err.errno not in _DISK_ERRORS:
                raise
            where = f" {err.filename}" if err.filename else ""
            console.print(f"[bold red]error:[/] cannot write{where}: {err.strerror}; what was finished is saved "
                          f"({next_step})", highlight=False, soft_wrap=True)
            raise typer.Exit(3) from None
        except sqlite3.OperationalError as err:  # the index: "database or disk is full", "attempt to write a readonly database"
            console.print(f"[bold red]error:[/] the run index failed: {err}", highlight=False, soft_wrap=True)
            raise typer.Exit(3) from None
        except Exception as err:
            said = " ".join(str(err).split())
            if not any(state in said for state in _FULL):
                raise
            console.print(f"[bold red]error:[/] cannot write: {said[:300]}; what was finished is saved ({next_step})",
                          highlight=False, soft_wrap=True)
            raise typer.Exit(3) from None
        except KeyboardInterrupt:
            console.print(f"[yellow]interrupted[/]; what was finished is saved ({next_step})", highlight=False)
            raise typer.Exit(130) from None

    return wrapper


def open_store(path: Optional[Path]):
    from agora.sim.store import RunStore

    return RunStore(path or default_store())


def progress_bar(label: str) -> Progress:
    """The bar every long command shows on a terminal (and leaves out of logs and pipes)."""
    return Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console,
        disable=not sys.stderr.isatty() and not console.is_terminal,
    )
