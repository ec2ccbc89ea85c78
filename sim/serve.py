"""A local OpenAI-compatible server for any GGUF: llama.cpp's own server, embedded in the `xllamacpp` wheel.

    with LocalServer(parallel=8) as server:          # the embedded SmolLM2-135M-Instruct
        backend = OpenAIBackend(server.model, server.url)

It binds 127.0.0.1 only. `parallel` slots decode that many requests at once in one batch; each slot has
`ctx_size` tokens of context (llama.cpp splits its context between slots, so it is given ctx_size × parallel).

The server runs in a child process, for three reasons: stopping an `xllamacpp.Server` in-process while a request
is in flight deadlocks its destructor (seen with xllamacpp 2026.10), killing a process is exactly "the server died"
for the tests, and llama.cpp's log goes to a file instead of the console. The child exits when its stdin closes,
so it never outlives the process that started it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from agora.sim.backends.embedded import PACKAGED
from agora.sim.errors import AgoraError

HOST = "127.0.0.1"
SETTINGS = "AGORA_SERVE_SETTINGS"  # to the child in its environment, where `ps` does not show an API key


def default_threads() -> int:
    """All cores but one: llama.cpp's threads wait on each other at every layer, so one thread that loses its core
    to another process stalls them all (2 threads on 2 busy cores ran at 2 tokens/s, 1 thread at 86)."""
    return max(1, (os.cpu_count() or 1) - 1)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _check_port(port: int) -> None:
    """Is anything listening on the port? With SO_REUSEADDR, as llama.cpp's own listener, so that connections of a
    server just stopped (TIME_WAIT) do not count: a restarted server comes back on the URL its runs name."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError as err:
            raise AgoraError(f"port {port} on {HOST} is in use ({err.strerror}); pick another with --port, "
                             "or --port 0 for any free one") from None


class LocalServer:
    """llama.cpp serving one GGUF on 127.0.0.1; a context manager, or start() / stop()."""

    def __init__(self, gguf: str | Path | None = None, *, port: int = 0, parallel: int = 8, ctx_size: int = 2048,
                 threads: int | None = None, api_key: str | None = None, alias: str | None = None,
                 startup_timeout: float = 120.0, log: str | Path | None = None):
        self.gguf = Path(gguf) if gguf else PACKAGED["smollm2"].gguf()
        self.port = port
        self.parallel, self.ctx_size = parallel, ctx_size
        self.threads = threads or default_threads()
        self.api_key = api_key
        self.model = alias or self.gguf.name.removesuffix(".gguf")  # the name requests use; llama.cpp accepts any
        self.startup_timeout = startup_timeout
        self.log = Path(log) if log else None
        self._keep_log = log is not None
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    @property
    def spec(self) -> str:
        """The backend spec for policies and audiences: openai:MODEL@URL."""
        return f"openai:{self.model}@{self.url}"

    def start(self) -> LocalServer:
        if not self.gguf.is_file():
            raise AgoraError(f"GGUF file {self.gguf} not found; give the path of a .gguf model file")
        if self.port:
            _check_port(self.port)
        else:
            self.port = free_port()
        if self.log is None:
            fd, name = tempfile.mkstemp(prefix=f"agora-serve-{self.port}-", suffix=".log")
            os.close(fd)
            self.log = Path(name)
        settings = {"gguf": str(self.gguf), "port": self.port, "parallel": self.parallel, "ctx_size": self.ctx_size,
                    "threads": self.threads, "api_key": self.api_key, "alias": self.model}
        with open(self.log, "ab") as log:
            self._proc = subprocess.Popen([sys.executable, "-m", "agora.sim.serve"], stdin=subprocess.PIPE, stdout=log,
                                          stderr=subprocess.STDOUT, env={**os.environ, SETTINGS: json.dumps(settings)},
                                          start_new_session=True)  # Ctrl-C reaches the parent only, which stops it
        try:
            self._wait_healthy()
        except BaseException:
            self.stop(keep_log=True)
            raise
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise AgoraError(f"the llama.cpp server for {self.gguf} exited at start: {self.failure()} (log: {self.log})")
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:  # not listening yet, or 503 while the model loads
                pass
            time.sleep(0.1)
        raise AgoraError(f"the llama.cpp server for {self.gguf} did not answer {HOST}:{self.port}/health within "
                         f"{self.startup_timeout:g} s (log: {self.log})")

    def failure(self) -> str:
        """The first error line of llama.cpp's log (its lines carry ' E ' for errors), else the last line."""
        lines = [line.strip() for line in self.log.read_text(errors="replace").splitlines() if line.strip()]
        errors = [line for line in lines if " E " in line or line.startswith("error")]
        line = (errors or lines or ["no output"])[0 if errors else -1]
        return re.sub(r"^[\d.]+ [A-Z] ", "", line)  # llama.cpp's timestamp and level

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait(self) -> int:
        """Block until the server exits (it only does on its own if it crashes); its exit code."""
        return self._proc.wait()

    def stop(self, keep_log: bool | None = None) -> None:
        """Stop the server at once, requests in flight or not: their clients see the connection drop. The log is
        kept when asked, when it was named, or when the server had died on its own."""
        if self._proc is not None:
            keep_log = keep_log or self._proc.poll() is not None
            self._proc.stdin.close()
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self.log is not None and not (self._keep_log or keep_log):
            self.log.unlink(missing_ok=True)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _serve(settings: dict) -> None:
    """The child process: build llama.cpp's server, then serve until stdin closes (the parent stopped or died)."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = settings["gguf"]
    params.model_alias = {settings["alias"]}
    params.hostnames = [HOST]
    params.port = settings["port"]
    params.n_parallel = settings["parallel"]
    params.n_ctx = settings["ctx_size"] * settings["parallel"]  # split evenly between the slots
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = settings["threads"]
    if settings["api_key"]:
        params.api_keys = [settings["api_key"]]
    try:
        server = xllamacpp.Server(params)  # returns once the model is loaded and the port is bound
    except RuntimeError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        os._exit(1)
    sys.stdin.read()
    del server  # never reached while a request is in flight: the parent's SIGTERM ends the process first
    os._exit(0)


if __name__ == "__main__":
    _serve(json.loads(os.environ[SETTINGS]))
