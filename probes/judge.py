"""The judge probe: an LLM answers the study's rubric question per category, thinking first.

The question, and whether the judge reads the anchor beside the text, are the task spec's
(`categories.<name>.question`, `with_source`). Works through any backend (`openai:MODEL@URL` for
any served or hosted model, `hf:PATH`, `vllm:PATH`). A refusal or an unparseable reply is recorded
as `label=None` with its status and counted in every report — never read as "no", because a
silent judge failure would be false assurance.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agora.probes.base import Item, Verdict
from agora.sim.backends.base import Backend, Chat, Sampling
from agora.sim.registry import probes
from agora.sim.scenario import Scenarios
from agora.sim.schema import TaskSpec

_ANSWER = re.compile(r"<answer>\s*(yes|no)\s*</answer>", re.I)
# small models often drop the tags: a reply that opens with Yes/No, or says "Answer: No", still answers
_BARE = re.compile(r"^\W*(yes|no)(?:[.,!:;]|\s*$)|\banswer(?: is)?\W{0,3}(yes|no)\b", re.I)
_REFUSAL = re.compile(r"\b(I can(?:'|no)t help|I(?:'m| am) (?:sorry|unable)|as an AI)\b", re.I)


def judge_prompt(item: Item, category: str, task: TaskSpec) -> Chat:
    """The question `task` asks of `category`, about the text and (`with_source`) the anchor."""
    setting = task.categories[category]
    parts = [f"## {task.source_name.capitalize()}\n{item.source.text}"] if setting.with_source else []
    parts += [f"## Text\n{item.message}", f"## Question\n{setting.question}",
              "Think inside <think>...</think>, then answer <answer>Yes</answer> or <answer>No</answer>."]
    return [{"role": "system", "content": "You are a careful fact-checker."}, {"role": "user", "content": "\n\n".join(parts)}]


def parse_answer(reply: str) -> tuple[bool | None, str]:
    """(label, status): status is ok, refused or unparseable."""
    answers = {a.lower() for a in _ANSWER.findall(reply)}
    if not answers:
        answers = {(a or b).lower() for a, b in _BARE.findall(reply.split("</think>")[-1])}
    if len(answers) == 1:
        return answers.pop() == "yes", "ok"
    if _REFUSAL.search(reply):
        return None, "refused"
    return None, "unparseable"


@probes.register("judge")
class JudgeProbe:
    name = "judge"

    def __init__(self, backend: Backend, sampling: Sampling | None = None, batch: int = 16,
                 progress: Callable[[int], None] | None = None, scenarios: Scenarios | None = None):
        """It judges every category of every task of `scenarios` (default: the folder in use), in its task's words."""
        self.scenarios = scenarios or Scenarios.load()
        self.categories = {c for t in self.scenarios.tasks for c in self.scenarios.task(t).categories}
        self.backend = backend
        self.sampling = sampling or Sampling(temperature=0.0, max_new_tokens=384)
        self.batch = batch  # prompts per generate call: a slow judge then reports progress as it goes
        self.progress = progress  # called with the number of replies each batch adds

    def score(self, items: list[Item], category: str) -> list[Verdict]:
        out = []
        for start in range(0, len(items), self.batch):
            prompts = [judge_prompt(i, category, self.scenarios.task(i.task)) for i in items[start:start + self.batch]]
            replies = self.backend.generate(prompts, self.sampling)
            for reply in replies:
                label, status = parse_answer(reply)
                out.append(Verdict(label, float(label) if label is not None else float("nan"), [], status))
            if self.progress:
                self.progress(len(replies))
        return out
