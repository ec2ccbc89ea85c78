"""Where an instruction goes in a prompt — one rule for contests, training data and the embedded corpus."""

from __future__ import annotations

from agora.sim.backends.base import Prompt


def with_instruction(prompt: Prompt, instruction: str, placement: str = "user") -> Prompt:
    """`prompt` with an instruction added: in the user message (default) or the system message of a chat prompt,
    just before `<msg>` in the embedded model's slot prompt. Shared by contests and training data, so that an
    inoculation prompt seen in training and a safety prompt seen in evaluation sit in the same place."""
    if not instruction:
        return prompt
    if isinstance(prompt, str):
        head, tail = (prompt[: -len(" <msg>")], " <msg>") if prompt.endswith(" <msg>") else (prompt, "")
        return f"{head} {instruction}{tail}"
    chat = [dict(m) for m in prompt]
    if placement == "system":
        if chat and chat[0]["role"] == "system":
            chat[0]["content"] = f"{chat[0]['content']}\n\n{instruction}"
        else:
            chat.insert(0, {"role": "system", "content": instruction})
        return chat
    last_user = max(i for i, m in enumerate(chat) if m["role"] == "user")
    chat[last_user]["content"] = f"{chat[last_user]['content']}\n\n{instruction}"
    return chat
