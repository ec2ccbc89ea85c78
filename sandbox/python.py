"""Run model-written Python confined to one folder: a fresh isolated interpreter (`python -I`, no environment)
in that folder, under resource limits, with an audit hook (PEP 578) that refuses any file outside the folder, new
imports, processes, sockets and other escapes.

Shared by every place Agora executes what a model wrote (the code reward-hacking check, mem-agent's memory
tools) so that there is one confinement to test. Audit hooks cannot be removed from inside the interpreter;
the hook resolves symlinks, so a link pointing out of the folder is refused too. Trusted `setup` code (imports,
tool functions) runs before the hook is installed; the model's code runs after it.

Exhaustion is bounded as well as escapes, each ending as its own `Outcome.status`: a wall-clock timeout and a CPU
rlimit ("timeout"), an address-space rlimit ("memory"), a per-file size rlimit plus a cap on the files and folders
made ("disk_limit"), a cap on what it prints, read by the host as it comes ("output_limit"), and no processes: the
hook refuses them and RLIMIT_NPROC backs it up for users other than root ("process_limit"). The interpreter runs in
its own process group, killed whole when it stops, so nothing it started outlives it.
"""

from __future__ import annotations

import math
import os
import re
import resource
import selectors
import signal
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

# audit events that would start another process
PROCESS_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty")
# audit events refused outright: other processes, the network, native code, and escapes from the folder
REFUSED = PROCESS_EVENTS + (
    "os.kill", "os.chdir", "os.chroot", "socket.", "ctypes.", "sys.addaudithook", "os.putenv", "os.unsetenv",
    "import", "fcntl.", "mmap.", "sys._getframe", "object.__setattr__", "code.__new__", "marshal.", "pickle.")
# audit events whose first arguments are paths that must lie inside the folder
PATH_EVENTS = {"open": 1, "os.remove": 1, "os.rmdir": 1, "os.mkdir": 1, "os.rename": 2, "os.replace": 2,
               "os.symlink": 2, "os.link": 2, "os.truncate": 1, "os.chmod": 1, "os.chown": 1, "os.utime": 1,
               "os.listdir": 1, "os.scandir": 1, "shutil.rmtree": 1, "shutil.copyfile": 2, "shutil.move": 2}
# audit events that make a file or folder, with the position of the path made: counted against `files`
MAKES = {"open": 0, "os.mkdir": 0, "os.symlink": 1, "os.link": 1}

PRELUDE = """
import os as _os, sys as _sys
_ROOT = _os.path.realpath(_os.getcwd())
def _agora_guard(event, args, _refused={refused!r}, _paths={paths!r}, _makes={makes!r}, _files={files}, _made=set(),
                 _write=_os.O_WRONLY | _os.O_RDWR, _real=_os.path.realpath, _fsdecode=_os.fsdecode, _sep=_os.sep,
                 _root=_ROOT):
    if event in _paths:
        for path in args[:_paths[event]]:
            if path is None or isinstance(path, int):
                continue
            real = _real(_fsdecode(path))
            if real != _root and not real.startswith(_root + _sep):
                raise PermissionError(f"sandbox: {{path}} is outside the folder")
        made = args[_makes[event]] if event in _makes else None
        if made is not None and not isinstance(made, int) and (event != "open" or args[2] & _write):
            _made.add(_real(_fsdecode(made)))
            if len(_made) > _files:
                raise PermissionError(f"sandbox: more than {{_files}} files written")
    elif event.startswith(_refused):
        raise PermissionError(f"sandbox: {{event}} is not allowed")
"""
INSTALL = "_sys.addaudithook(_agora_guard)\ndel _os, _sys\n"

_LAST = [  # what the last line of stderr says, first match wins; a traceback ends in its exception
    ("memory", re.compile(r"^MemoryError\b")),
    ("disk_limit", re.compile(r"\[Errno (27|28)\]|^PermissionError: sandbox: more than \d+ files written")),
    ("process_limit", re.compile(rf"^PermissionError: sandbox: ({'|'.join(map(re.escape, PROCESS_EVENTS))})\b"
                                 r"|^BlockingIOError: \[Errno 11\]")),
    ("refused", re.compile(r"^PermissionError: sandbox: ")),
]


@dataclass(frozen=True)
class Outcome:
    stdout: str
    stderr: str
    returncode: int | None  # None: stopped by the sandbox (the time or output limit)
    # ok | error (the code's own failure) | timeout | memory | disk_limit | output_limit | process_limit | refused
    status: str = "ok"

    @property
    def timed_out(self) -> bool:
        return self.status == "timeout"


def _limits(memory: int, file_size: int, cpu: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU at the soft limit, SIGKILL at the hard
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # not enforced for root: the audit hook is the barrier
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


def run_python(code: str, folder: Path, *, setup: str = "", timeout: float = 2.0, memory: int = 512 << 20,
               file_size: int = 1 << 20, files: int = 256, output: int = 1 << 20) -> Outcome:
    """Run `code` (after trusted `setup`) confined to `folder`; errors in `code` come back in stderr, and a limit
    reached as the outcome's status. `files`: files and folders it may make; `output`: bytes of stdout and stderr
    together that the host reads before it stops the code."""
    script = (PRELUDE.format(refused=REFUSED, paths=PATH_EVENTS, makes=MAKES, files=files) + setup + "\n" + INSTALL
              + f"exec(compile({code!r}, '<model>', 'exec'), {{'__name__': '__model__', **globals()}})\n")
    proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", script], cwd=folder, env={}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_limits(memory, file_size, math.ceil(timeout) + 1))
    try:
        (out, err), stopped = _read(proc, time.monotonic() + timeout, output)
    finally:
        with suppress(ProcessLookupError):  # the group outlives its leader until the leader is reaped, below
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    if stopped == "timeout":
        return Outcome(stdout, stderr + f"\nsandbox: timed out after {timeout:g} s", None, "timeout")
    if stopped == "output_limit":
        return Outcome(stdout, stderr + f"\nsandbox: more than {output} bytes of output; stopped", None, "output_limit")
    return Outcome(stdout, stderr, proc.returncode, _status(proc.returncode, stderr))


def _read(proc: subprocess.Popen, deadline: float, cap: int) -> tuple[tuple[bytes, bytes], str]:
    """Both pipes until the code exits (""), the deadline passes ("timeout") or it printed more than `cap` bytes
    ("output_limit"), without reaping it: its process group must stay valid for the kill."""
    got = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    with selectors.DefaultSelector() as sel:
        for pipe in got:
            sel.register(pipe, selectors.EVENT_READ)
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                return (bytes(got[proc.stdout]), bytes(got[proc.stderr])), "timeout"
            for key, _ in sel.select(left):
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    sel.unregister(key.fileobj)
                got[key.fileobj] += chunk
                if len(got[proc.stdout]) + len(got[proc.stderr]) > cap:
                    return (bytes(got[proc.stdout][:cap]), bytes(got[proc.stderr][:cap])), "output_limit"
    while os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:  # pipes closed, still running
        if time.monotonic() > deadline:
            return (bytes(got[proc.stdout]), bytes(got[proc.stderr])), "timeout"
        time.sleep(0.01)
    return (bytes(got[proc.stdout]), bytes(got[proc.stderr])), ""


def _status(returncode: int, stderr: str) -> str:
    if returncode == 0:
        return "ok"
    if returncode == -signal.SIGXCPU:  # the CPU rlimit
        return "timeout"
    lines = stderr.strip().splitlines()
    return next((status for status, pattern in _LAST if lines and pattern.search(lines[-1])), "error")
