"""Policies: how a competitor turns an anchor into a prompt, and a completion into a message.

Two styles over the same backend interface:
- `SlotPolicy` for checkpoints built by `agora bootstrap` (and trained from them): the prompt
  is the anchor's slot signature; the completion is realised from the anchor's facts.
- `ChatPolicy` for any instruction model: the study's generator prompt, `<think>` then the
  message in the task's tag, parsed robustly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from agora.sim.backends.base import Backend, Prompt
from agora.sim.schema import Anchor, TaskSpec
from agora.sim.tiny.build import TinyConfig, ensure_tiny, writes_slots
from agora.sim.tiny.slots import available, realise, signature


@dataclass(frozen=True)
class Written:
    text: str  # what the audience reads
    raw: str  # what the model wrote (slotted for the tiny model)
    thinking: str
    parse_status: str  # ok | untagged | empty


class SlotPolicy:
    style = "slots"

    def __init__(self, backend: Backend):
        self.backend = backend

    def prompt(self, task: TaskSpec, anchor: Anchor) -> Prompt:
        return signature(task.name, available(task.name, anchor)) + " <msg>"

    def parse(self, task: TaskSpec, anchor: Anchor, completion: str) -> Written:
        raw = completion.strip()
        text = realise(raw, task.name, anchor)
        return Written(text, raw, "", "ok" if text else "empty")


class ChatPolicy:
    style = "chat"
    SYSTEM = (
        "Think step by step inside <think>...</think>. Then write your final {what} inside "
        "<{tag}>...</{tag}>, and nothing after it."
    )

    def __init__(self, backend: Backend):
        self.backend = backend

    def prompt(self, task: TaskSpec, anchor: Anchor) -> Prompt:
        what = {"pitch": "sales pitch", "speech": "campaign speech", "post": "post"}.get(task.message_tag, "message")
        return [
            {"role": "system", "content": self.SYSTEM.format(what=what, tag=task.message_tag)},
            {"role": "user", "content": f"{task.instruction}\n\n{anchor.text}"},
        ]

    def parse(self, task: TaskSpec, anchor: Anchor, completion: str) -> Written:
        tag = task.message_tag
        think = re.search(r"<think>(.*?)(?:</think>|$)", completion, re.S)
        thinking = think.group(1).strip() if think else ""
        body = re.search(rf"<{tag}>(.*?)(?:</{tag}>|$)", completion, re.S)
        if body and body.group(1).strip():
            return Written(body.group(1).strip(), completion, thinking, "ok")
        rest = completion.split("</think>")[-1] if "</think>" in completion else ("" if think else completion)
        text = re.sub(r"</?\w+>", "", rest).strip()
        return Written(text, completion, thinking, "untagged" if text else "empty")


Policy = SlotPolicy | ChatPolicy


def load_policy(spec: str, *, scenarios, tiny: TinyConfig | None = None) -> Policy:
    """`tiny`, `hf:PATH` or `vllm:PATH` -> a policy; a tiny-format checkpoint keeps the slot style."""
    from agora.sim.config import check_policy_spec

    check_policy_spec(spec, "policy")
    kind, _, target = spec.partition(":")
    if kind == "tiny":
        from agora.sim.backends.hf import HFBackend

        return SlotPolicy(HFBackend(ensure_tiny(scenarios, tiny)))
    if kind == "hf":
        from agora.sim.backends.hf import HFBackend

        backend = HFBackend(target)
    else:
        from agora.sim.backends.vllm import VLLMBackend

        backend = VLLMBackend(target)
    return SlotPolicy(backend) if writes_slots(Path(target)) else ChatPolicy(backend)
