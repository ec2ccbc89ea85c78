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


def winner_examples(messages: pd.DataFrame, contests: pd.DataFrame, run_id: str) -> tuple[list[dict], set]:
    """(each decided contest's winning completion with its prompt and provenance, the contests left out for an
    invalid message). A campaign (a `round` column) gives its winner's message of every round, each conditioned on its
    round's prompt: the final vote is the only reward, and every message of the winning campaign shares it."""
    invalid = set(messages.loc[messages["invalid"] != "", "contest"]) if "invalid" in messages else set()
    rounds = "round" in messages
    written = {key: rows.sort_values("round") if rounds else rows
               for key, rows in messages.groupby(["contest", "competitor"], sort=False)}
    winners = []
    for c in contests.itertuples():
        if c.contest in invalid or not c.winner:
            continue
        names, won = list(c.competitors), written[(c.contest, c.winner)]
        for m in won.itertuples():
            prompt, completion = completion_for(m.prompt, m.raw)
            winners.append({
                "prompt": prompt, "completion": completion, "kind": "winner", "run_id": run_id, "contest": int(c.contest),
                "anchor_id": c.anchor_id, **({"round": int(m.round), "horizon": len(won)} if rounds else {}),
                "votes_for": int(c.votes[names.index(c.winner)]), "votes_total": int(sum(c.votes)),
            })
    return winners, invalid & set(contests["contest"])


def examples(messages: pd.DataFrame, judgments: pd.DataFrame, contests: pd.DataFrame, run_id: str) -> Examples:
    """Winner and thought examples of one run, each with its provenance (run, contest, anchor, votes)."""
    if contests.empty:
        raise AgoraError(f"run {run_id}: no finished contests to train on")
    winners, left_out = winner_examples(messages, contests, run_id)
    skipped = len(left_out)
    decided = {w["contest"] for w in winners}
    msg = messages.set_index(["contest", "competitor"])
    thoughts = []
    for c in contests.itertuples():
        if c.contest not in decided:
            continue
        names = list(c.competitors)
        row = msg.loc[(c.contest, c.winner)]
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


def generated_tokens(messages: pd.DataFrame, tokenizer) -> int:
    """The tokens of every message's raw text in `tokenizer`: what a contest run generated, end tokens aside."""
    return sum(len(tokenizer.encode(raw, add_special_tokens=False)) for raw in messages["raw"])
