"""Where Agora keeps things: the model cache and the run store, both overridable by environment."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def agora_home() -> Path:
    """Cache for built models (`$AGORA_HOME`, default `~/.cache/agora`)."""
    return Path(os.environ.get("AGORA_HOME", Path.home() / ".cache" / "agora")).expanduser()


def default_store() -> Path:
    """The run store (`$AGORA_STORE`, default `./runs`)."""
    return Path(os.environ.get("AGORA_STORE", "runs")).expanduser()


@contextmanager
def atomic_dir(out: Path) -> Iterator[Path]:
    """Build a folder in a temporary sibling and move it into place only if the block succeeds."""
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    try:
        yield work
        if out.exists():
            shutil.rmtree(out)
        work.rename(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ensure_built(out: Path, build: Callable[[], object], marker: str) -> Path:
    """`out`, built first by `build()` when its `marker` file is missing, by one process at a time: two runs started
    together on a fresh machine build a model once, and the second never replaces the folder the first is reading."""
    if not (out / marker).is_file():
        from filelock import FileLock

        out.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{out}.lock"):
            if not (out / marker).is_file():  # built by another process while this one waited
                build()
    return out
