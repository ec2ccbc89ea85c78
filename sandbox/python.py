"""Run model-written Python confined to one folder: a fresh isolated interpreter (`python -I`, no environment)
in that folder, with a time limit, memory and file-size limits, and an audit hook (PEP 578) that refuses any
file outside the folder, new imports, processes, sockets and other escapes.

Shared by every place Agora executes what a model wrote (the code reward-hacking check, mem-agent's memory
tools) so that there is one confinement to test. Audit hooks cannot be removed from inside the interpreter;
the hook resolves symlinks, so a link pointing out of the folder is refused too. Trusted `setup` code (imports,
tool functions) runs before the hook is installed; the model's code runs after it.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# audit events refused outright: other processes, the network, native code, and escapes from the folder
REFUSED = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
           "os.kill", "os.chdir", "os.chroot", "socket.", "ctypes.", "sys.addaudithook", "os.putenv", "os.unsetenv",
           "import", "fcntl.", "mmap.", "sys._getframe", "object.__setattr__", "code.__new__", "marshal.", "pickle.")
# audit events whose first arguments are paths that must lie inside the folder
PATH_EVENTS = {"open": 1, "os.remove": 1, "os.rmdir": 1, "os.mkdir": 1, "os.rename": 2, "os.replace": 2,
               "os.symlink": 2, "os.link": 2, "os.truncate": 1, "os.chmod": 1, "os.chown": 1, "os.utime": 1,
               "os.listdir": 1, "os.scandir": 1, "shutil.rmtree": 1, "shutil.copyfile": 2, "shutil.move": 2}

PRELUDE = """
import os as _os, sys as _sys
_ROOT = _os.path.realpath(_os.getcwd())
def _agora_guard(event, args, _refused={refused!r}, _paths={paths!r}, _real=_os.path.realpath,
                 _fsdecode=_os.fsdecode, _sep=_os.sep, _root=_ROOT):
    if event in _paths:
        for path in args[:_paths[event]]:
            if path is None or isinstance(path, int):
                continue
            real = _real(_fsdecode(path))
            if real != _root and not real.startswith(_root + _sep):
                raise PermissionError(f"sandbox: {{path}} is outside the folder")
    elif event.startswith(_refused):
        raise PermissionError(f"sandbox: {{event}} is not allowed")
"""
INSTALL = "_sys.addaudithook(_agora_guard)\ndel _os, _sys\n"


@dataclass(frozen=True)
class Outcome:
    stdout: str
    stderr: str
    returncode: int | None  # None: killed at the time limit
    timed_out: bool


def _limits(memory: int, file_size: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def run_python(code: str, folder: Path, *, setup: str = "", timeout: float = 2.0, memory: int = 512 << 20,
               file_size: int = 1 << 20) -> Outcome:
    """Run `code` (after trusted `setup`) confined to `folder`; errors in `code` come back in stderr."""
    script = (PRELUDE.format(refused=REFUSED, paths=PATH_EVENTS) + setup + "\n" + INSTALL
              + f"exec(compile({code!r}, '<model>', 'exec'), {{'__name__': '__model__', **globals()}})\n")
    try:
        done = subprocess.run([sys.executable, "-I", "-S", "-c", script], cwd=folder, env={}, capture_output=True,
                              text=True, timeout=timeout, preexec_fn=_limits(memory, file_size))
    except subprocess.TimeoutExpired as stopped:
        out = stopped.stdout.decode() if isinstance(stopped.stdout, bytes) else (stopped.stdout or "")
        return Outcome(out, "timed out", None, True)
    return Outcome(done.stdout, done.stderr, done.returncode, False)
