"""The study's audience protocol with a language model voting in character.

Each persona gets the role-play prompt with its biography, the task's situation and the two
messages as "## A" / "## B"; it thinks in <think> and votes in <vote>. All ballots of a contest —
or of many contests — go to the backend as one batch; unparseable replies are retried once (one
batch), then recorded as abstentions — counted, never dropped.
"""

from __future__ import annotations

import itertools
import re

from agora.sim.audience.base import Ballot, Judgment
from agora.sim.backends.base import Backend, Chat, Sampling, prompt_seeds
from agora.sim.schema import Anchor, TaskSpec

SYSTEM = (
    "You think step by step inside <think>...</think> tags, and then give your final answer "
    "inside the tag the task asks for."
)
_VOTE = re.compile(r"<vote>\s*\(?([AB])\)?\s*</vote>", re.I)
# "My vote is: B", "I choose **A**": keywords in any case, the letter in capitals only ("a good one" is no vote)
_LOOSE = re.compile(r"(?i:vote|choose|choice|answer|pick)\w*(?:\s*(?i:is|:|for|-))*\s*\(?\*{0,2}([AB])\b")
_THINK = re.compile(r"<think>(.*?)(?:</think>|<vote>|$)", re.S | re.I)


def voter_prompt(task: TaskSpec, ballot: Ballot) -> Chat:
    user = (
        "# Roleplay Instructions\n"
        "Immerse yourself in the character below. Answer as this person would, with their "
        "values, habits and way of seeing the world.\n\n"
        f"## Your Character\n{ballot.persona.biography}\n\n"
        f"# Task Instructions\n{task.situation} {task.question}\n"
        "Respond with a single letter in <vote>...</vote>.\n\n"
        f"# Choices\n## A\n{ballot.a}\n\n## B\n{ballot.b}"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_vote(reply: str) -> tuple[str | None, str]:
    """(vote, thought) from a reply; the vote is None when no unambiguous letter is found."""
    think = _THINK.search(reply)
    thought = think.group(1).strip() if think else re.sub(r"<vote>.*", "", reply, flags=re.S | re.I).strip()
    tagged = {m.upper() for m in _VOTE.findall(reply)}
    if len(tagged) == 1:
        return tagged.pop(), thought
    if tagged:  # both letters in vote tags: ambiguous
        return None, thought
    loose = {m.upper() for m in _LOOSE.findall(reply.split("</think>")[-1])}
    return (loose.pop() if len(loose) == 1 else None), thought


class LLMAudience:
    def __init__(self, backend: Backend, sampling: Sampling | None = None):
        self.backend = backend
        self.sampling = sampling or Sampling(temperature=0.1, max_new_tokens=256)
        self.identity = f"llm:{backend.identity}"

    def judge(self, task: TaskSpec, anchor: Anchor, ballots: list[Ballot], seed: int) -> list[Judgment]:
        return self.judge_many(task, [(anchor, ballots, seed)])[0]

    def judge_many(self, task: TaskSpec, contests: list[tuple[Anchor, list[Ballot], int]]) -> list[list[Judgment]]:
        """Every ballot of every contest in one batch, then every failed one in one retry batch. Each prompt keeps
        the seed it would have had judged contest by contest, so batching changes the speed, not the votes."""
        prompts = [voter_prompt(task, b) for _, ballots, _ in contests for b in ballots]
        sizes = [len(ballots) for _, ballots, _ in contests]
        seeds = [s for (_, _, seed), n in zip(contests, sizes) for s in prompt_seeds(self.sampling.with_seed(seed), n)]
        replies = self.backend.generate(prompts, self.sampling, seeds)
        parsed = [parse_vote(r) for r in replies]
        failed, retry_seeds, start = [], [], 0
        for (_, _, seed), n in zip(contests, sizes):
            mine = [i for i in range(start, start + n) if parsed[i][0] is None]
            failed += mine
            retry_seeds += prompt_seeds(self.sampling.with_seed(seed + 1_000_003), len(mine))
            start += n
        retried: dict[int, str] = {}
        if failed:
            retried = dict(zip(failed, self.backend.generate([prompts[i] for i in failed], self.sampling, retry_seeds)))
        out = []
        for i, (vote, thought) in enumerate(parsed):
            if i not in retried:
                out.append(Judgment(vote, thought, "ok", replies[i]))
                continue
            vote, thought = parse_vote(retried[i])
            out.append(Judgment(vote, thought, "retried" if vote else "abstain", retried[i]))
        ends = list(itertools.accumulate(sizes))
        return [out[end - n : end] for end, n in zip(ends, sizes)]
