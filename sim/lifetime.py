"""A child process that dies with its parent, however the parent dies (kill -9 included).

A server or a pool worker left behind by a killed `agora` holds its port or goes on writing a run that its owner
has given up; the kernel ends it instead (Linux's PR_SET_PDEATHSIG; elsewhere nothing is set).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Called in the child: SIGKILL it when its parent dies. SIGKILL, since a Streamlit server with a session open
    can sit on SIGTERM; what the store has committed is not lost. `parent`: the pid the child was started by; if its
    parent is already another, that one died before this call, and the child dies now."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
