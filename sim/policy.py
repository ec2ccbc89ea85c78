"""Policies: how a competitor turns an anchor into a prompt, and a completion into a message.

Two styles over the same backend interface:
- `SlotPolicy` for the slot-grammar control (`tiny`, and checkpoints trained from it): the prompt
  is the anchor's slot signature; the completion is realised from the anchor's facts.
- `ChatPolicy` for any language model, in the study's prompt format or a plain one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from agora.sim.backends.base import Backend, Prompt, truncated
from agora.sim.backends.embedded import model_manifest
from agora.sim.backends.spec import load_backend
from agora.sim.errors import AgoraError
from agora.sim.schema import Anchor, TaskSpec
from agora.sim.tiny.control import TinyConfig, writes_slots
from agora.sim.tiny.slots import available, realise, signature


@dataclass(frozen=True)
class Written:
    text: str  # what the audience reads
    raw: str  # what the model wrote (slotted for the tiny model)
    thinking: str
    parse_status: str  # ok | untagged | empty | trimmed (cut at the token limit, kept to its last full sentence)
    truncated: bool = False  # cut at the token limit with no complete sentence to keep


class SlotPolicy:
    style = "slots"

    def __init__(self, backend: Backend):
        self.backend = backend

    def prompt(self, task: TaskSpec, anchor: Anchor) -> Prompt:
        """The anchor's signature, tagged with the phrase bank the task writes in (its own, or the one it borrows)."""
        return signature(task.corpus, task.anchor_kind, available(anchor)) + " <msg>"

    def parse(self, task: TaskSpec, anchor: Anchor, completion: str) -> Written:
        raw = completion.strip()
        text = realise(raw, anchor)
        return _whole(Written(text, raw, "", "ok" if text else "empty"), truncated(completion))


class ChatPolicy:
    """An instruction model prompted in one of two formats, chosen per model (`prompt_format`):

    - `study`: the study's generator prompt, `<think>` then the message in the task's tag, parsed robustly;
    - `plain`: the task's instruction and anchor, asking for the message alone; the whole completion is the
      message. For models too small to follow the study's format (SmolLM2-135M left all 60 of 60 untagged).
    """

    style = "chat"
    SYSTEM = (
        "Think step by step inside <think>...</think>. Then write your final {what} inside "
        "<{tag}>...</{tag}>, and nothing after it."
    )
    PLAIN = "Write only the {what}, in one paragraph, with no title and no notes."

    def __init__(self, backend: Backend, prompt_format: str = "study"):
        if prompt_format not in ("study", "plain"):
            raise AgoraError(f"prompt_format: {prompt_format!r}; use study or plain")
        self.backend = backend
        self.prompt_format = prompt_format

    def prompt(self, task: TaskSpec, anchor: Anchor) -> Prompt:
        what = task.message
        if self.prompt_format == "plain":
            return [{"role": "user", "content": f"{task.instruction}\n\n{anchor.text}\n\n{self.PLAIN.format(what=what)}"}]
        return [
            {"role": "system", "content": self.SYSTEM.format(what=what, tag=task.message_tag)},
            {"role": "user", "content": f"{task.instruction}\n\n{anchor.text}"},
        ]

    def parse(self, task: TaskSpec, anchor: Anchor, completion: str) -> Written:
        if self.prompt_format == "plain":
            text = completion.strip()
            return _whole(Written(text, completion, "", "ok" if text else "empty"), truncated(completion))
        tag = task.message_tag
        think = re.search(r"<think>(.*?)(?:</think>|$)", completion, re.S)
        thinking = think.group(1).strip() if think else ""
        body = re.search(rf"<{tag}>(.*?)(?:</{tag}>|$)", completion, re.S)
        if body and body.group(1).strip():
            closed = f"</{tag}>" in completion[body.start():]  # a closed tag is a whole message, whatever came after
            return _whole(Written(body.group(1).strip(), completion, thinking, "ok"), truncated(completion) and not closed)
        rest = completion.split("</think>")[-1] if "</think>" in completion else ("" if think else completion)
        text = re.sub(r"</?\w+>", "", rest).strip()
        return _whole(Written(text, completion, thinking, "untagged" if text else "empty"), truncated(completion))


_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s|$)")


def _whole(written: Written, cut: bool) -> Written:
    """A message the token limit cut off keeps its complete sentences (parse status `trimmed`): small models
    ramble past any limit (SmolLM2 reached 160 tokens in 10 of 12 pitches, 400 in 5 of 6), and the audience
    should read what they finished saying. With no complete sentence it stays cut off, and is no candidate."""
    if not cut:
        return written
    ends = [m.end() for m in _SENTENCE_END.finditer(written.text)]
    if not ends:
        return replace(written, truncated=True)
    return replace(written, text=written.text[:ends[-1]].strip(), parse_status="trimmed")


Policy = SlotPolicy | ChatPolicy


def load_policy(spec: str, *, scenarios, tiny: TinyConfig | None = None, prompt_format: str = "auto") -> Policy:
    """Any backend spec -> a policy. A slot-writing checkpoint (the `tiny` control and models trained from it)
    keeps the slot style; a chat model is prompted in its checkpoint's recorded format (`auto`), else the
    study's, unless `prompt_format` says otherwise."""
    backend = load_backend(spec, scenarios=scenarios, tiny=tiny, field="policy")
    path = getattr(backend, "path", None)
    if path is not None and writes_slots(Path(path)):
        return SlotPolicy(backend)
    if prompt_format == "auto":
        prompt_format = (model_manifest(path) or {}).get("prompt_format", "study")
    return ChatPolicy(backend, prompt_format)
