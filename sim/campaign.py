"""Campaigns: a contest with a horizon h is h messages per competitor over h rounds, and one vote, at the end.

The protocol (`ContestModel.play`, `RunConfig.horizon`):
- **write**: each competitor writes one message a round. Round r's prompt is the policy's own prompt plus the
  competitor's own messages of rounds 1..r-1 (`campaign_prompt`), not its opponent's: a training example is then
  the round's prompt and the winner's message, whole, with nothing in it from the model it happened to meet, and in a
  head-to-head against the base neither side's text leaks into the other's prompt. Writers never see the audience's
  reactions either, so all h rounds are written before any is judged. Round 1's prompt and sampling seed are those
  of a single contest, so a campaign opens with the message an h = 1 contest writes. The slot-grammar control
  reads no history (its prompt is a slot signature): its rounds are independent samples.
- **judge**: each persona reads both messages of every round, in one order for the whole campaign (A is the same
  competitor each round). Its state — the messages read and its thought after each round — is its `Ballot`
  (`agora.sim.audience.base`), carried from round to round. After a round before the last it records a
  provisional thought and lean, which count for nothing; the vote after round h alone decides the contest and is
  what training rewards. The last round is judged with the seed a single contest's judgment has.
- **candidates**: every round's message is checked (`agora.sim.candidates`); a competitor with an invalid message in
  any round has an invalid campaign, and the run's `invalid` rule applies to the contest as a whole.
- **tables**: with h > 1, `messages` has h rows per competitor and `judgments` h rows per persona, each with a
  `round` column (1..h); a judgment row before the last round has `vote` and `choice` empty (no vote) and the
  provisional choice in `lean` (on the last round `lean` is the vote's choice, so `lean` by round is the persona's
  trajectory). `contests` holds the final vote only. `final_round` gives the rows the vote that counts is in.
  With h = 1 the tables are exactly a single contest's, with no new column.
"""

from __future__ import annotations

import pandas as pd

from agora.sim.backends.base import Prompt
from agora.sim.schema import TaskSpec

# no talk of campaigns or audiences: SmolLM2-135M wrote such framing back as its message, off its anchor
HISTORY = ("Your earlier {whats}, which the same audience has already read:\n\n{earlier}\n\nWrite only your next {what} "
           "about the same {subject} ({round} of {horizon}), in one paragraph, saying something new.")

ROUND_SEED = 1_000_000_007  # between rounds; offset 0 is the single contest's seed


def campaign_prompt(prompt: Prompt, task: TaskSpec, earlier: list[str], horizon: int) -> Prompt:
    """The prompt of round len(earlier) + 1: the competitor's earlier messages after its own prompt (the last user
    message of a chat). Round 1's prompt is the prompt itself."""
    if not earlier:
        return prompt
    told = HISTORY.format(horizon=horizon, round=len(earlier) + 1, what=task.message, whats=plural(task.message),
                          subject=task.subject, earlier="\n\n".join(f"Message {i}: {t}" for i, t in enumerate(earlier, 1)))
    if isinstance(prompt, str):
        return f"{prompt}\n\n{told}"
    last = max(i for i, m in enumerate(prompt) if m["role"] == "user")
    return [{**m, "content": f"{m['content']}\n\n{told}"} if i == last else m for i, m in enumerate(prompt)]


def plural(noun: str) -> str:
    """English plural of a task's message noun ("sales pitch" -> "sales pitches", "post" -> "posts"): enough for the
    nouns task specs use, not a general inflector."""
    return noun + ("es" if noun.endswith(("s", "sh", "ch", "x", "z")) else "s")


def round_seed(seed: int, offset: int) -> int:
    """A seed per round, `offset` rounds away from the one that keeps a single contest's seed."""
    return seed + offset * ROUND_SEED


def campaign_invalid(rounds: list[list[str]]) -> list[str]:
    """Per competitor, why its campaign is no candidate: the reason of its first invalid message ("" if none).
    `rounds`: per round, each competitor's reason."""
    return [next((r for r in reasons if r), "") for reasons in zip(*rounds)]


def final_round(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the last round (the messages and the votes that decide), or the table as it is for h = 1."""
    if "round" not in table or table.empty:
        return table
    last = table.groupby("contest")["round"].transform("max")
    return table[table["round"] == last].reset_index(drop=True)


def rounds_of(messages: pd.DataFrame, judgments: pd.DataFrame, contest: int) -> pd.DataFrame:
    """One contest's campaign round by round: per round and competitor its message, the personas leaning to it
    after that round (the last round's are the votes that count) and whether its message was a candidate."""
    mine = messages[messages["contest"] == contest]
    if "round" not in mine:
        mine = mine.assign(round=1)
    ballots = judgments[judgments["contest"] == contest]
    if "round" not in ballots:  # a single contest: its choices are its only leans
        ballots = ballots.assign(round=1, lean=ballots["choice"])
    leans = ballots.groupby(["round", "lean"]).size()
    return pd.DataFrame([{"round": int(m.round), "competitor": m.competitor, "text": m.text, "invalid": m.invalid,
                          "leaning": int(leans.get((m.round, m.competitor), 0))}
                         for m in mine.sort_values(["round", "competitor"]).itertuples()])

