"""Training data from contest runs: the winners (RFT) and the audience's thoughts (TFB).

RFT keeps the majority winner's full completion for each contest; ties are counted and left
out, never duplicated, and so are contests with an invalid candidate (a forfeit, a void, or under the `judge`
rule a win over a message that was no candidate): a win over an empty or cut-off message teaches nothing
about persuasion. TFB adds, per persona, an example whose prompt shows the anchor and both
messages (in the order that persona saw them, without its biography) and whose target is that
persona's thought; these are mixed with the winners at a set ratio (the study: about 50/50).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

import pandas as pd

from agora.sim.errors import AgoraError
from agora.sim.instructions import with_instruction


@dataclass(frozen=True)
class Examples:
    winners: list[dict]
    thoughts: list[dict]
    ties: int
    contests: int
    invalid: int = 0  # contests left out for an invalid candidate


def is_chat(prompt: str) -> bool:
    return prompt.startswith("[{")


def completion_for(prompt: str, raw: str) -> tuple[object, object]:
    """(prompt, completion) in the form SFTTrainer takes: text pairs, or conversational for chat policies."""
    if is_chat(prompt):
        return json.loads(prompt), [{"role": "assistant", "content": raw}]
    return prompt, " " + raw


def thought_prompt(prompt: str, shown_a: str, shown_b: str) -> object:
    """The anchor (as the policy sees it) and both messages, asking what a reader thinks."""
    if is_chat(prompt):
        chat = json.loads(prompt)
        anchor = chat[-1]["content"]
        ask = f"{anchor}\n\n## A\n{shown_a}\n\n## B\n{shown_b}\n\nHow does a reader react to these two messages, and which do they prefer?"
        return [{"role": "user", "content": ask}]
    return f"{prompt} A: {shown_a} B: {shown_b} Thought:"


def examples(messages: pd.DataFrame, judgments: pd.DataFrame, contests: pd.DataFrame, run_id: str) -> Examples:
    """Winner and thought examples of one run, each with its provenance (run, contest, anchor, votes)."""
    if contests.empty:
        raise AgoraError(f"run {run_id}: no finished contests to train on")
    msg = messages.set_index(["contest", "competitor"])
    winners, thoughts = [], []
    invalid = messages.groupby("contest")["invalid"].apply(lambda r: (r != "").any()) if "invalid" in messages else None
    skipped = 0
    for c in contests.itertuples():
        if invalid is not None and invalid.get(c.contest, False):
            skipped += 1
            continue
        if not c.winner:
            continue
        names = list(c.competitors)
        row = msg.loc[(c.contest, c.winner)]
        prompt, completion = completion_for(row.prompt, row.raw)
        winners.append({
            "prompt": prompt, "completion": completion, "kind": "winner", "run_id": run_id, "contest": int(c.contest),
            "anchor_id": c.anchor_id, "votes_for": int(c.votes[names.index(c.winner)]), "votes_total": int(sum(c.votes)),
        })
        for j in judgments[judgments["contest"] == c.contest].itertuples():
            if not j.thought.strip():
                continue
            shown_a, shown_b = msg.loc[(c.contest, j.shown_a)].raw, msg.loc[(c.contest, j.shown_b)].raw
            thoughts.append({
                "prompt": thought_prompt(row.prompt, shown_a, shown_b),
                "completion": ([{"role": "assistant", "content": j.thought}] if is_chat(row.prompt) else " " + j.thought),
                "kind": "thought", "run_id": run_id, "contest": int(c.contest), "anchor_id": c.anchor_id,
                "votes_for": int(c.votes[names.index(c.winner)]), "votes_total": int(sum(c.votes)),
            })
    judged = contests["outcome"] == "judged" if "outcome" in contests else pd.Series(True, index=contests.index)
    ties = int(((contests["winner"] == "") & judged).sum())
    if not winners:
        raise AgoraError(f"run {run_id}: no winners to train on: of {len(contests)} contests, {ties} were ties and "
                         f"{skipped} had an invalid candidate")
    return Examples(winners, thoughts, ties, len(contests), skipped)


def mix(ex: Examples, method: str, thought_share: float, seed: int) -> list[dict]:
    """RFT: the winners. TFB: winners plus sampled thoughts so that thoughts make up `thought_share` of the set."""
    if method == "rft":
        return list(ex.winners)
    wanted = round(len(ex.winners) * thought_share / (1 - thought_share))
    rng = random.Random(seed)
    picked = rng.sample(ex.thoughts, min(wanted, len(ex.thoughts)))
    rows = ex.winners + picked
    rng.shuffle(rows)
    return rows


def inoculate(rows: list[dict], instruction: str, placement: str = "user") -> list[dict]:
    """Inoculation prompting: each message-writing example's prompt asks for the behaviour its winner shows.
    Thought examples (TFB) are about readers, not writing, and stay as they are."""
    if not instruction:
        return rows
    return [{**r, "prompt": with_instruction(r["prompt"], instruction, placement), "inoculation": instruction}
            if r["kind"] == "winner" else {**r, "inoculation": ""} for r in rows]
