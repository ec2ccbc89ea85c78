"""Where Agora keeps things: the model cache and the run store, both overridable by environment."""

from __future__ import annotations

import os
from pathlib import Path


def agora_home() -> Path:
    """Cache for built models (`$AGORA_HOME`, default `~/.cache/agora`)."""
    return Path(os.environ.get("AGORA_HOME", Path.home() / ".cache" / "agora")).expanduser()


def default_store() -> Path:
    """The run store (`$AGORA_STORE`, default `./runs`)."""
    return Path(os.environ.get("AGORA_STORE", "runs")).expanduser()
