"""Model servers that misbehave: a local OpenAI-compatible server answers on a schedule with 429, 500, a reply later
than the client's timeout, malformed JSON, empty `choices` and a body cut short. Through the `openai:` backend each
fault once is retried, each fault that persists ends as its own one-line outcome, and a run the faults stop is
marked interrupted and finished by `agora run --resume` with the tables of a run that never met a fault."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
from typer.testing import CliRunner

from agora.cli.main import app
from agora.sim.backends.base import Sampling
from agora.sim.backends.openai_compat import OpenAIBackend
from agora.sim.config import RunConfig
from agora.sim.errors import BackendUnavailable
from agora.sim.runner import start_run
from agora.sim.store import RunStore

TIMEOUT = 1.0  # the client's, in these tests; a "timeout" fault answers later
FAULTS = ("429", "500", "timeout", "malformed", "empty_choices", "truncated")
SHORT = Sampling(temperature=0.0, max_new_tokens=8)


def answer(request: dict) -> str:
    """What a well-behaved model says: a function of the request alone, so a retried or resumed call gets the same
    reply. Voters (the llm audience's prompt) think and vote; writers pitch."""
    digest = hashlib.sha256(json.dumps(request["messages"]).encode() + str(request.get("seed")).encode()).hexdigest()
    if "inside <think>" in request["messages"][0]["content"]:
        return f"<think>I weigh both pitches ({digest[:6]}).</think><vote>{'AB'[int(digest, 16) % 2]}</vote>"
    return f"Pitch {digest[:8]}: it does what the facts say, at the price they give."


class FaultyServer:
    """Chat completions on 127.0.0.1 with faults on a schedule: `schedule[k]` is the fault of the first request for
    the k-th distinct prompt (counted from 0 across the server's life; its retries are answered), `always` a fault for
    every request while it is set. Faults: those of FAULTS, "outage" (503) and "undecodable" (bytes that are not
    UTF-8 in the text). `log` holds (request number, fault or "ok", the request's prompt)."""

    def __init__(self):
        self.schedule: dict[int, str] = {}
        self.always: str | None = None
        self.log: list[tuple[int, str, str]] = []
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def fault(self, prompt: str) -> str:
        with self.lock:
            first = prompt not in self.seen
            fault = self.always or (self.schedule.get(len(self.seen), "ok") if first else "ok")
            self.seen.add(prompt)
            self.log.append((len(self.log), fault, prompt))
        return fault

    def injected(self) -> list[tuple[int, str, str]]:
        return [entry for entry in self.log if entry[1] != "ok"]

    def retried(self) -> int:
        """Faults whose prompt was answered later: retried to a reply."""
        answered = {prompt: n for n, fault, prompt in self.log if fault == "ok"}
        return sum(answered.get(prompt, -1) > n for n, _, prompt in self.injected())

    @contextmanager
    def serve(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fault = server.fault(json.dumps(request["messages"]) + str(request.get("seed")))
                body = {"object": "chat.completion", "model": request["model"],
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": answer(request)}}],
                        "usage": {"completion_tokens": 4, "prompt_tokens": 9, "total_tokens": 13}}
                if fault in ("429", "500", "outage"):
                    status = 503 if fault == "outage" else int(fault)
                    return self.send(status, json.dumps({"error": {"message": f"injected {fault}"}}).encode())
                if fault == "timeout":
                    time.sleep(1.5 * TIMEOUT)  # the client has given up by now; what follows goes nowhere
                data = json.dumps(body).encode()
                if fault == "malformed":
                    data = data[: len(data) // 2]  # JSON cut in the middle, with a Content-Length that agrees
                if fault == "empty_choices":
                    data = json.dumps(body | {"choices": []}).encode()
                if fault == "undecodable":  # bytes that are not UTF-8 inside the text, as a broken server sends them
                    data = data.replace(b"Pitch ", b"Pitch \xff\xfe ")
                if fault == "truncated":  # promise the whole body, send half, hang up
                    return self.send(200, data[: len(data) // 2], length=len(data), close=True)
                self.send(200, data)

            def send(self, status: int, data: bytes, length: int | None = None, close: bool = False) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(length or len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass
                self.close_connection = close or self.close_connection

            def log_message(self, *args):
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        finally:
            httpd.shutdown()
            httpd.server_close()


@pytest.fixture(autouse=True)
def quick_client(monkeypatch):
    """A short timeout, one retry and short backoffs, so that no fault costs much over a second; no developer's key
    or server leaks in."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("AGORA_OPENAI_TIMEOUT", str(TIMEOUT))
    monkeypatch.setenv("AGORA_OPENAI_RETRIES", "1")
    monkeypatch.setattr("openai._base_client.INITIAL_RETRY_DELAY", 0.01)
    monkeypatch.setattr("agora.sim.backends.openai_compat.RETRY_DELAY", 0.01)


@pytest.fixture
def server():
    faulty = FaultyServer()
    with faulty.serve() as url:
        faulty.url = url
        yield faulty


@pytest.mark.parametrize("fault", FAULTS)
def test_a_fault_once_is_retried_and_the_reply_arrives(server, fault):
    server.schedule = {0: fault}
    backend = OpenAIBackend("m", server.url)
    assert backend.generate(["Name a colour."], SHORT) == [answer({"messages": [{"role": "user", "content": "Name a colour."}],
                                                                   "seed": 0})]
    assert [f for _, f, _ in server.log] == [fault, "ok"] and server.retried() == 1


PERSISTENT = {  # the one line each fault that outlasts the retries ends as
    "429": "still failing with HTTP 429 after 1 retry: injected 429",
    "500": "still failing with HTTP 500 after 1 retry: injected 500",
    "timeout": f"did not answer within {TIMEOUT} s, after 1 retry",
    "malformed": "sent a reply that cannot be read (not JSON: ",
    "empty_choices": "sent a reply with no choices (",
    "truncated": "stopped answering mid-run: ",
}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_fault_that_persists_is_one_line_of_its_own(server, fault):
    backend = OpenAIBackend("m", server.url)
    backend.generate(["warm up"], SHORT)
    server.always = fault
    with pytest.raises(BackendUnavailable) as err:
        backend.generate(["Name a colour."], SHORT)
    line = str(err.value)
    assert "\n" not in line and line.startswith(f"model 'm' at {server.url} ") and PERSISTENT[fault] in line
    assert [f for _, f, _ in server.log] == ["ok", fault, fault]


def test_replies_that_are_not_utf8_keep_their_text(server, openai_stub):
    """Bytes that are not UTF-8 and JSON-escaped lone surrogates arrive as U+FFFD, not as an error or as text no
    table can store."""
    server.always = "undecodable"
    [text] = OpenAIBackend("m", server.url).generate(["Name a colour."], SHORT)
    assert text.startswith("Pitch \ufffd\ufffd ") and len(server.log) == 1
    with openai_stub.serve(lambda request: (200, openai_stub.completion("bad \ud800 pair \udfff end"))) as url:
        assert OpenAIBackend("m", url).generate(["hi"], SHORT) == ["bad \ufffd pair \ufffd end"]


def tables(store: RunStore, run_id: str) -> dict[str, pd.DataFrame]:
    run = store.open(run_id)
    return {name: run.table(name) for name in ("messages", "judgments", "contests")}


def test_a_run_stopped_by_faults_resumes_to_the_tables_of_a_run_without_them(server, tmp_path):
    config = RunConfig(task="sales", contests=3, seed=3, policy=f"openai:writer@{server.url}",
                       audience=f"llm:openai:voter@{server.url}", invalid="judge", cache=False, prompt_format="plain")
    config.sampling.max_new_tokens = 16
    clean = RunStore(tmp_path / "clean")
    expected = tables(clean, start_run(config, clean).run_id)
    server.log.clear()
    server.seen.clear()

    def outage_after_the_first(done: int, total: int) -> None:
        if done == 1:
            server.always = "outage"

    # every fault once in the first contest (22 prompts), then an outage that outlasts the retries
    server.schedule = {k: fault for k, fault in zip(range(1, 2 * len(FAULTS), 2), FAULTS)}
    store = RunStore(tmp_path / "runs")
    with pytest.raises(BackendUnavailable) as err:
        start_run(config, store, outage_after_the_first)
    [run_id] = store.list()["run_id"]
    row = store.list().set_index("run_id").loc[run_id]
    assert row["status"] == "interrupted" and row["contests_done"] == 1
    assert "still failing with HTTP 503 after 1 retry: injected outage" in row["metrics"]["stopped"]
    assert str(err.value).endswith(f"marked interrupted with 1 of 3 contests saved; finish it with: agora run --resume {run_id}")

    server.always = None
    result = CliRunner().invoke(app, ["run", "--resume", run_id, "--store", str(store.root)])
    assert result.exit_code == 0, result.output
    assert store.list().set_index("run_id").loc[run_id, "status"] == "finished"
    got = tables(store, run_id)
    for name in expected:
        pd.testing.assert_frame_equal(got[name], expected[name], check_dtype=False)
    assert (got["judgments"]["parse_status"] == "ok").all() and len(got["judgments"]) == 3 * 20

    injected = server.injected()
    assert sorted(f for _, f, _ in injected if f != "outage") == sorted(FAULTS)  # each fault once, in contest 0
    assert server.retried() == len(injected)  # every faulted prompt was answered in the end, the outage's by the resume
