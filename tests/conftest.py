"""Shared fixtures: a small embedded model built once per test session, in a temporary AGORA_HOME; and the
session-end check that no test leaves a Streamlit or llama.cpp server running."""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest

from agora.sim.scenario import Scenarios
from agora.sim.tiny.control import TinyConfig

SESSION, MARK = "AGORA_TEST_SESSION", str(os.getpid())
os.environ[SESSION] = MARK  # set while collecting, so every process a test starts inherits it, orphaned or not
SERVERS = {"streamlit", "agora.sim.serve", "xllamacpp"}  # llama.cpp serves from `python -m agora.sim.serve`


def servers_started_here() -> list[psutil.Process]:
    """Live Streamlit and llama.cpp servers this session started: pytest's descendants, and processes carrying its
    mark (an orphan leaves pytest's tree but keeps its environment). Older processes and other sessions' are not."""
    me = psutil.Process()
    descendants = {p.pid for p in me.children(recursive=True)}
    found = []
    for p in psutil.process_iter(["cmdline", "create_time", "status"]):
        try:
            if (p.info["status"] == psutil.STATUS_ZOMBIE or p.info["create_time"] < me.create_time()
                    or not SERVERS & {Path(a).name for a in p.info["cmdline"] or []}):
                continue
            if p.pid in descendants or p.environ().get(SESSION) == MARK:
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def pytest_sessionfinish(session):
    """After every test and fixture: fail the session if a server the tests started is still alive 10 s on (and stop
    it), so a leak fails the suite that made it instead of holding a port and memory afterwards."""
    _, alive = psutil.wait_procs(servers_started_here(), timeout=10)
    if not alive:
        return
    for p in alive:
        with suppress(psutil.NoSuchProcess):
            p.kill()
    report = session.config.pluginmanager.get_plugin("terminalreporter")
    report.line("")
    report.write_sep("=", "FAILED: the tests left these servers running (now killed)", red=True)
    for p in alive:
        report.write_line(f"pid {p.pid}: {' '.join(p.info['cmdline'])}")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


# Small enough to train in ~20 s on 2 cores; same code path as the default model.
SMALL = {"hidden_size": 64, "num_layers": 2, "num_heads": 2, "intermediate_size": 128, "vocab_size": 800,
         "corpus_size": 2400, "steps": 60, "batch_size": 16}


WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # set in each of `pytest -n N`'s workers
if WORKER:  # N workers share the cores: one torch thread each, in the tests and in the processes they start
    os.environ["OMP_NUM_THREADS"] = "1"


@pytest.fixture(scope="session", autouse=True)
def agora_home(tmp_path_factory) -> Path:
    """One model cache for the session, shared by the workers of `pytest -n N`: each cached model is built once
    (`ensure_built` holds a lock while it builds), not once per worker."""
    if os.environ.get("AGORA_TEST_HOME"):
        home = Path(os.environ["AGORA_TEST_HOME"])
    elif WORKER:
        home = tmp_path_factory.getbasetemp().parent / "agora_home"
        home.mkdir(exist_ok=True)
    else:
        home = tmp_path_factory.mktemp("agora_home")
    os.environ["AGORA_HOME"] = str(home)
    if WORKER:
        import torch

        torch.set_num_threads(1)
    return home


@pytest.fixture(scope="session")
def scenarios() -> Scenarios:
    return Scenarios.load()


@pytest.fixture(scope="session")
def small_tiny() -> dict:
    return dict(SMALL)


@pytest.fixture(scope="session")
def tiny_path(scenarios, small_tiny, agora_home) -> Path:
    from agora.training.controls import ensure_tiny

    return ensure_tiny(scenarios, TinyConfig(**small_tiny))


@pytest.fixture
def store(tmp_path):
    from agora.sim.store import RunStore

    return RunStore(tmp_path / "runs")


CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


@pytest.fixture(scope="session")
def chat_checkpoint(tmp_path_factory):
    """A random-weight Llama-architecture chat model saved locally, as a user's checkpoint would be."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    path = tmp_path_factory.mktemp("chat-model")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(["<think>plan</think><pitch>Buy it now, it is great.</pitch>"] * 50,
                            trainers.BpeTrainer(vocab_size=300, special_tokens=["<pad>", "<eos>"],
                                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")
    hf_tok.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(hf_tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, pad_token_id=0, eos_token_id=1)
    LlamaForCausalLM(cfg).save_pretrained(path)
    hf_tok.save_pretrained(path)
    return path


# --- a stub OpenAI-compatible server on 127.0.0.1, for the seams llama.cpp cannot show -------------------------

class OpenAIStub:
    @staticmethod
    def completion(text: str) -> dict:
        return {"object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop",
                                                          "message": {"role": "assistant", "content": text}}],
                "usage": {"completion_tokens": 1, "prompt_tokens": 1, "total_tokens": 2}}

    @staticmethod
    @contextmanager
    def serve(answer):
        """A threaded HTTP server that answers each POSTed JSON request with answer(request) -> (status, body);
        yields its /v1 base URL."""

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status, body = answer(request)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep the test output clean
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        finally:
            httpd.shutdown()
            httpd.server_close()


@pytest.fixture
def openai_stub() -> type[OpenAIStub]:
    return OpenAIStub


@pytest.fixture
def every_candidate_valid(monkeypatch):
    """The small test control writes noise that candidate validation rightly rejects (the default rule forfeits
    such contests, leaving no votes and no winner to train on); a test about something else lets every message
    pass (tests/test_candidates.py and tests/training/test_data.py cover the rejection)."""
    monkeypatch.setattr("agora.sim.model.contest_checks", lambda texts, *args: [""] * len(texts))


@pytest.fixture
def interrupted_run():
    """`interrupted_run(config, store, after)`: a run stopped by Ctrl-C once `after` contests are committed (what an
    interrupted `agora run` leaves); its id."""
    from agora.sim.runner import start_run

    def interrupt(config, store, after: int) -> str:
        def stop(done, total):
            if done == after:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            start_run(config, store, stop)
        [run_id] = store.list()["run_id"]
        return run_id

    return interrupt
