"""Any OpenAI-compatible chat server as a backend: OpenAI itself, `vllm serve`, Ollama, llama.cpp (`agora serve`).

The spec is `openai:MODEL` (the server from $OPENAI_BASE_URL, else OpenAI's) or `openai:MODEL@URL`. The key comes
from $OPENAI_API_KEY; a server other than OpenAI's gets a placeholder when none is set, since local servers need
none. Prompts of a batch go out as concurrent requests, at most `concurrency` at once, each with its own seed.

Retries (`max_retries`, default 4 or $AGORA_OPENAI_RETRIES; the timeout of each request, default 120 s or
$AGORA_OPENAI_TIMEOUT) are mostly the official client's own: it retries connection errors (a body cut short
included), timeouts, 408, 409, 429 and every 5xx with exponential backoff (0.5 s doubling, at most 8 s, with jitter,
honouring Retry-After). A reply whose fault the client cannot see (not JSON, or no `choices`) is asked for again
here, as often and with the same backoff. What still fails after them becomes one `BackendUnavailable` line naming the
URL, the model and the fault, never a traceback. A reply that is not valid UTF-8, or whose JSON escapes a lone
surrogate, keeps its text with U+FFFD in place of what cannot be stored.

Token usage is read from each reply's `usage`: `last_usage` sums the last `generate` call (what `MeteredBackend`
charges to a run's budget) and `usage` keeps running totals; `cached_tokens` counts prompt tokens a server
served from its prompt cache.
"""

from __future__ import annotations

import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from agora.sim.backends.base import Completion, Prompt, Sampling, prompt_seeds
from agora.sim.errors import AgoraError, BackendUnavailable
from agora.sim.storable import storable

OPENAI_URL = "https://api.openai.com/v1"
USAGE_KEYS = ("completion_tokens", "prompt_tokens", "cached_tokens")
RETRY_DELAY, MAX_RETRY_DELAY = 0.5, 8.0  # the client's backoff, for the replies it cannot see are bad


def parse_target(target: str) -> tuple[str, str | None]:
    """(model, base URL or None) of `MODEL` or `MODEL@URL`; the URL is split at the last '@', so a model name
    may itself contain one when a URL follows."""
    model, at, url = target.rpartition("@") if "@" in target else (target, "", "")
    if not model.strip():
        raise AgoraError(f"openai:{target}: no model name; write openai:MODEL or openai:MODEL@http://HOST:PORT/v1")
    if not at:
        return model, None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AgoraError(f"openai:{target}: {url!r} is not a server URL; write openai:MODEL@http://HOST:PORT/v1 "
                         "(it must start with http:// or https://)")
    return model, url.rstrip("/")


def check(target: str) -> None:
    """Validate a target without touching the network (for config checks before a run starts)."""
    parse_target(target)


class OpenAIBackend:
    """Chat completions from an OpenAI-compatible server; see the module docstring for keys, retries and usage."""

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None, *,
                 concurrency: int = 8, timeout: float | None = None, max_retries: int | None = None):
        import openai

        if concurrency < 1:
            raise AgoraError(f"openai backend: concurrency must be at least 1 (got {concurrency})")
        timeout = _setting("AGORA_OPENAI_TIMEOUT", float, 120.0) if timeout is None else timeout
        max_retries = _setting("AGORA_OPENAI_RETRIES", int, 4) if max_retries is None else max_retries
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL).rstrip("/")
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key and self.base_url == OPENAI_URL:
            raise BackendUnavailable(f"no API key for model {model!r} at {OPENAI_URL}: set OPENAI_API_KEY, or name "
                                     "another server with openai:MODEL@URL or OPENAI_BASE_URL")
        self.client = openai.OpenAI(base_url=self.base_url, api_key=key or "not-needed", timeout=timeout,
                                    max_retries=max_retries)
        self.identity = f"openai:{model}@{self.base_url}"
        self.concurrency = concurrency
        self.last_usage: dict[str, int] | None = None  # None when the server reported no usage
        self.usage = dict.fromkeys(USAGE_KEYS, 0)
        self._answered = False  # once the server has answered, a lost connection means it died mid-run

    def generate(self, prompts: list[Prompt], sampling: Sampling, seeds: list[int] | None = None) -> list[str]:
        seeds = prompt_seeds(sampling, len(prompts), seeds)
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, max(len(prompts), 1)), thread_name_prefix="openai")
        futures = [pool.submit(self._complete, p, sampling, s) for p, s in zip(prompts, seeds)]
        try:
            replies = [f.result() for f in futures]
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # the batch is lost either way; do not wait on the rest
            raise
        pool.shutdown()
        usages = [u for _, u in replies]
        self.last_usage = None if None in usages else {k: sum(u[k] for u in usages) for k in USAGE_KEYS}
        for u in filter(None, usages):
            for k in USAGE_KEYS:
                self.usage[k] += u[k]
        return [text for text, _ in replies]

    def _complete(self, prompt: Prompt, sampling: Sampling, seed: int) -> tuple[str, dict[str, int] | None]:
        """One request: (text, its usage or None)."""
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        reply = self._create(messages=messages, temperature=sampling.temperature, top_p=sampling.top_p,
                             max_tokens=sampling.max_new_tokens, seed=seed % 2**31)  # servers read a 32-bit seed
        return self._text(reply), _usage(reply)

    def _create(self, **request) -> dict:
        """One chat completion, as the server's JSON with at least one choice; a reply that is not that is asked for
        again (the client retries the rest), then is one line."""
        import openai

        retries = self.client.max_retries
        for attempt in range(retries + 1):
            try:
                raw = self.client.chat.completions.with_raw_response.create(model=self.model, **request)
            except openai.APIError as err:
                raise self._unavailable(err) from None
            self._answered = True
            reply, problem = _read(raw.content)
            if not problem:
                return reply
            if attempt < retries:
                time.sleep(min(RETRY_DELAY * 2**attempt, MAX_RETRY_DELAY) * (1 - 0.25 * random.random()))
        where = f"model {self.model!r} at {self.base_url}"
        after = f"after {retries} {'retry' if retries == 1 else 'retries'}"
        if problem.startswith("no choices"):
            raise BackendUnavailable(f"{where} sent a reply with {problem}, {after}; is the URL an OpenAI-compatible "
                                     "/v1 endpoint?")
        raise BackendUnavailable(f"{where} sent a reply that cannot be read ({problem}), {after}")

    def option_logprobs(self, prompts: list[Prompt], options: list[str]) -> list[dict[str, float]]:
        """Per prompt, the log-probability of each option as the reply's first token, from the server's
        `top_logprobs` (OpenAI, vLLM and llama.cpp's server return them); an option outside the top 20 is -inf."""
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, max(len(prompts), 1)), thread_name_prefix="openai")
        try:
            return list(pool.map(lambda p: self._option_logprobs(p, options), prompts))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _option_logprobs(self, prompt: Prompt, options: list[str]) -> dict[str, float]:
        import math

        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        reply = self._create(messages=messages, temperature=0, max_tokens=1, logprobs=True, top_logprobs=20)
        content = (reply["choices"][0].get("logprobs") or {}).get("content")
        if not content:
            raise BackendUnavailable(f"model {self.model!r} at {self.base_url} returned no logprobs "
                                     f"({_snippet(reply)}); vote: logprob needs a server that returns top_logprobs")
        out = {}
        for option in options:
            found = [t["logprob"] for t in content[0].get("top_logprobs") or [] if t["token"].strip() == option]
            out[option] = math.log(sum(math.exp(x) for x in found)) if found else -math.inf
        return out

    def _text(self, reply: dict) -> str:
        choice = reply["choices"][0]
        content, cut = (choice.get("message") or {}).get("content"), choice.get("finish_reason") == "length"
        if content is None:
            if cut:  # every token went to hidden reasoning: an empty message
                return Completion("", True)
            raise BackendUnavailable(f"model {self.model!r} at {self.base_url} sent a reply with no text "
                                     f"(finish_reason {choice.get('finish_reason')!r})")
        return Completion(storable(str(content)), cut)

    def _unavailable(self, err) -> AgoraError:
        """The one line a failed request becomes."""
        import openai

        n = self.client.max_retries
        where, retries = f"model {self.model!r} at {self.base_url}", f"after {n} {'retry' if n == 1 else 'retries'}"
        if isinstance(err, openai.APITimeoutError):
            return BackendUnavailable(f"{where} did not answer within {self.client.timeout} s, {retries}")
        if isinstance(err, openai.APIConnectionError):
            if self._answered:
                return BackendUnavailable(f"{where} stopped answering mid-run: {_cause(err)}, {retries}")
            return BackendUnavailable(f"cannot reach {self.base_url} for model {self.model!r}: {_cause(err)}, "
                                      f"{retries}; is the server running and the URL right?")
        status = getattr(err, "status_code", None)
        if status in (401, 403):
            return BackendUnavailable(f"{self.base_url} refused the API key for model {self.model!r} (HTTP {status}: "
                                      f"{_detail(err)}); set OPENAI_API_KEY to a key this server accepts")
        if status == 404:
            return BackendUnavailable(f"{self.base_url} has no model {self.model!r} (HTTP 404: {_detail(err)}); check the "
                                      f"name against GET {self.base_url}/models, and that the URL ends in /v1")
        if status == 429 or (status or 0) >= 500:
            return BackendUnavailable(f"{where} still failing with HTTP {status} {retries}: {_detail(err)}")
        if status is not None:  # the request itself was refused (e.g. too long for the context): not an outage
            return AgoraError(f"{where} rejected a request (HTTP {status}: {_detail(err)})")
        return BackendUnavailable(f"{where} sent a reply that cannot be read: {_detail(err)}")


def _setting(name: str, kind: type, default):
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return kind(value)
    except ValueError:
        raise AgoraError(f"${name}: {value!r} is not {'an integer' if kind is int else 'a number'} "
                         f"(the default is {default})") from None


def _read(body: bytes) -> tuple[dict, str]:
    """(the reply, "") or ({}, what is wrong with it). Bytes that are not UTF-8 are read as U+FFFD: the rest of the
    text is the model's."""
    text = body.decode("utf-8", errors="replace")
    try:
        reply = json.loads(text)
    except json.JSONDecodeError as err:
        return {}, f"not JSON: {err}, in {len(body)} bytes starting {_oneline(repr(text[:60]))}"
    if not isinstance(reply, dict):
        return {}, f"not a chat completion: {_snippet(reply)}"
    choices = reply.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return {}, f"no choices ({_snippet(reply)})"
    return reply, ""


def _usage(reply: dict) -> dict[str, int] | None:
    usage = reply.get("usage")
    if not isinstance(usage, dict) or usage.get("completion_tokens") is None:
        return None
    details = usage.get("prompt_tokens_details")
    return {"completion_tokens": usage["completion_tokens"], "prompt_tokens": usage.get("prompt_tokens") or 0,
            "cached_tokens": (details.get("cached_tokens") or 0) if isinstance(details, dict) else 0}


def _cause(err: BaseException) -> str:
    """The innermost reason of a connection failure ('[Errno 111] Connection refused'), not the client's wrapper."""
    while err.__cause__ is not None or err.__context__ is not None:
        err = err.__cause__ or err.__context__
    return _oneline(str(err) or type(err).__name__)


def _detail(err) -> str:
    """The server's own error message, from an OpenAI-style body or the raw text."""
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        return _oneline(str(inner.get("message") or body))
    return _oneline(str(body or getattr(err, "message", err)))


def _snippet(reply) -> str:
    """What came back, short: its JSON without the empty fields."""
    if isinstance(reply, dict):
        reply = {k: v for k, v in reply.items() if v is not None}
    return _oneline(json.dumps(reply, ensure_ascii=False))


def _oneline(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
