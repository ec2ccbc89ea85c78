"""The study's audience protocol with a language model voting in character.

Each persona gets the role-play prompt with its biography, the task's situation and the two
messages as "## A" / "## B"; it thinks in <think> and votes in <vote>. All ballots of a contest —
or of many contests — go to the backend as one batch; unparseable replies are retried once (one
batch), then recorded as abstentions — counted, never dropped.
"""

from __future__ import annotations

import itertools
import math
import re

from agora.sim.audience.base import Ballot, Judgment
from agora.sim.backends.base import Backend, Chat, Sampling, prompt_seeds
from agora.sim.errors import AgoraError
from agora.sim.schema import Anchor, TaskSpec

SYSTEM = (
    "You think step by step inside <think>...</think> tags, and then give your final answer "
    "inside the tag the task asks for."
)
_VOTE = re.compile(r"<vote>\s*\(?([AB])\)?\s*</vote>", re.I)
# "My vote is: B", "I choose **A**": keywords in any case, the letter in capitals only ("a good one" is no vote)
_LOOSE = re.compile(r"(?i:vote|choose|choice|answer|pick)\w*(?:\s*(?i:is|:|for|-))*\s*\(?\*{0,2}([AB])\b")
_BARE = re.compile(r"\W*([AB])\W*")  # a reply that is the letter alone ("A", "**B**", "(A).")
_THINK = re.compile(r"<think>(.*?)(?:</think>|<vote>|$)", re.S | re.I)


LETTER_ONLY = "You answer with a single capital letter and nothing else."


def voter_prompt(task: TaskSpec, ballot: Ballot, letter_only: bool = False) -> Chat:
    """The study's voter prompt; `letter_only` (vote: logprob) asks for the letter alone, whose probability is read.
    In a campaign it lists the rounds the persona read before, each with what it thought then, and a round before the
    last asks for its lean so far (`campaign`)."""
    answer = "Respond with a single letter, A or B, and nothing else." if letter_only else "Respond with a single letter in <vote>...</vote>."
    user = (
        "# Roleplay Instructions\n"
        "Immerse yourself in the character below. Answer as this person would, with their "
        "values, habits and way of seeing the world.\n\n"
        f"## Your Character\n{ballot.persona.biography}\n\n"
        f"# Task Instructions\n{task.situation} {task.question}\n"
        + (campaign(ballot) if ballot.horizon > 1 else "") +
        f"{answer}\n\n"
        + (f"# Choices, round {ballot.round} of {ballot.horizon}\n" if ballot.horizon > 1 else "# Choices\n") +
        f"## A\n{ballot.a}\n\n## B\n{ballot.b}"
    )
    return [{"role": "system", "content": LETTER_ONLY if letter_only else SYSTEM}, {"role": "user", "content": user}]


def campaign(ballot: Ballot) -> str:
    """A campaign voter's memory and what this round asks: the rounds it read, in the order it read them (A is the
    same writer every round), each with its thought then; the choice is made after the last round."""
    when = ("This is the last round: choose now." if ballot.final else
            f"You choose after round {ballot.horizon}; for now, say which you lean towards.")
    told = (f"They write to you over {ballot.horizon} rounds, one message each a round. {when}\n\n")
    for r, ((a, b), thought) in enumerate(zip(ballot.earlier, ballot.thoughts), 1):
        told += f"# Round {r}, which you read earlier\n## A\n{a}\n\n## B\n{b}\n\n"
        told += f"What you thought then: {thought}\n\n" if thought.strip() else ""
    return told


def parse_vote(reply: str) -> tuple[str | None, str]:
    """(vote, thought) from a reply; the vote is None when no unambiguous letter is found."""
    think = _THINK.search(reply)
    thought = think.group(1).strip() if think else re.sub(r"<vote>.*", "", reply, flags=re.S | re.I).strip()
    tagged = {m.upper() for m in _VOTE.findall(reply)}
    if len(tagged) == 1:
        return tagged.pop(), thought
    if tagged:  # both letters in vote tags: ambiguous
        return None, thought
    bare = _BARE.fullmatch(reply)
    if bare:  # small models often answer with the letter alone: unambiguous, if untagged
        return bare.group(1), ""
    loose = {m.upper() for m in _LOOSE.findall(reply.split("</think>")[-1])}
    return (loose.pop() if len(loose) == 1 else None), thought


# below this much probability on "A" and "B" together, the model was about to write something else: no vote
MIN_LETTER_MASS = 0.05


class LLMAudience:
    """`vote="text"`: think, then vote in tags, parsed (the study's protocol). `vote="logprob"`: the letter's
    probability at the reply's first position, from the logits (hf) or the server's top_logprobs (openai:), so
    nothing is left unparsed and each judgment carries P(A)."""

    def __init__(self, backend: Backend, sampling: Sampling | None = None, vote: str = "text"):
        if vote not in ("text", "logprob"):
            raise AgoraError(f"audience vote: {vote!r}; use text or logprob")
        if vote == "logprob" and not hasattr(backend, "option_logprobs"):
            raise AgoraError(f"audience vote: logprob needs a backend that reads token probabilities (hf:, openai:); "
                             f"{backend.identity} does not")
        self.backend = backend
        self.sampling = sampling or Sampling(temperature=0.1, max_new_tokens=256)
        self.vote = vote
        self.identity = f"llm:{backend.identity}" + (" (vote: logprob)" if vote == "logprob" else "")

    def judge(self, task: TaskSpec, anchor: Anchor, ballots: list[Ballot], seed: int) -> list[Judgment]:
        return self.judge_many(task, [(anchor, ballots, seed)])[0]

    def judge_many(self, task: TaskSpec, contests: list[tuple[Anchor, list[Ballot], int]]) -> list[list[Judgment]]:
        """Every ballot of every contest in one batch, then every failed one in one retry batch. Each prompt keeps
        the seed it would have had judged contest by contest, so batching changes the speed, not the votes."""
        sizes = [len(ballots) for _, ballots, _ in contests]
        if self.vote == "logprob":
            return _split(self._logprob_votes([b for _, ballots, _ in contests for b in ballots], task), sizes)
        prompts = [voter_prompt(task, b) for _, ballots, _ in contests for b in ballots]
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
        return _split(out, sizes)

    def _logprob_votes(self, ballots: list[Ballot], task: TaskSpec) -> list[Judgment]:
        out = []
        for lp in self.backend.option_logprobs([voter_prompt(task, b, letter_only=True) for b in ballots], ["A", "B"]):
            pa, pb = math.exp(lp["A"]), math.exp(lp["B"])
            thought = f"P(A) {pa:.3f}, P(B) {pb:.3f}"
            if pa + pb < MIN_LETTER_MASS:
                out.append(Judgment(None, thought, "abstain", p_a=None))
                continue
            share = pa / (pa + pb)
            out.append(Judgment("A" if share >= 0.5 else "B", thought, "logprob", p_a=round(share, 6)))
        return out


def _split(judgments: list[Judgment], sizes: list[int]) -> list[list[Judgment]]:
    ends = list(itertools.accumulate(sizes))
    return [judgments[end - n : end] for end, n in zip(ends, sizes)]
