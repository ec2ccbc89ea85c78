"""Campaigns: a campaign's messages round by round (each competitor's h messages side by side), how many personas
leaned to each after every round (the last round's are the votes that count), and one persona's path to its vote."""

from pathlib import Path

import streamlit as st

from agora.dashboard import data
from agora.dashboard.ui import code, guard, literal, nothing_yet, pick_contest, trimmed, verbatim
from agora.sim.campaign import rounds_of

st.title("Campaigns")
runs = data.runs_of("contest")
horizons = {r: int(data.config(Path(p)).get("horizon", 1)) for r, p in zip(runs.get("run_id", []), runs.get("path", []))}
ids = [r for r, h in horizons.items() if h > 1]
if not ids:
    nothing_yet("No campaign in this store yet: a campaign is h messages per competitor over h rounds, decided by "
                "one vote after the last. Make one with `agora run --task sales --horizon 3 --contests 10`.")
wanted = st.query_params.get("run")
run_id = st.selectbox("campaign run", ids, index=ids.index(wanted) if wanted in ids else 0)
st.query_params["run"] = run_id
row = runs[runs["run_id"] == run_id].iloc[0]
path, horizon = Path(row["path"]), horizons[run_id]
st.caption(f"task {code(row['task'])} · {horizon} rounds · audience {code(row['audience'])} · "
           f"{literal(row['status'])} · {code(path)}")


def campaign() -> None:
    messages, judgments, contests = (data.table(path, n) for n in ("messages", "judgments", "contests"))
    if contests.empty:
        st.info("No campaign of this run has finished yet.")
        return
    contest = pick_contest(contests, "campaign")
    c = contests[contests["contest"] == contest].iloc[0]
    anchor = data.anchors().get(c["anchor_id"])
    st.subheader(literal(anchor.title if anchor is not None else c["anchor_id"]))
    votes = ", ".join(f"{literal(n)} {v}" for n, v in zip(c["competitors"], c["votes"]))
    st.caption(f"final vote: {votes} · winner {literal(c['winner'] or 'none')} ({literal(c['outcome'])})")
    table = rounds_of(messages, judgments, contest)
    for r, shown in table.groupby("round"):
        st.markdown(f"**Round {r} of {horizon}**" + (" — the vote" if r == horizon else ""))
        for col, m in zip(st.columns(len(shown)), shown.itertuples()):
            word = "votes" if r == horizon else "leaning"
            col.caption(f"{literal(m.competitor)} · {m.leaning} {word}" + (f" · invalid: {literal(m.invalid)}" if m.invalid else ""))
            col.markdown(verbatim(m.text), unsafe_allow_html=True)
    ballots = judgments[judgments["contest"] == contest]
    if ballots.empty:
        st.info(f"No persona read this campaign ({literal(c['outcome'])}: an invalid message).")
        return
    persona = st.selectbox("a persona's rounds", sorted(ballots["persona_id"].unique()))
    mine = ballots[ballots["persona_id"] == persona]
    st.dataframe(trimmed(mine[["round", "shown_a", "lean", "thought", "parse_status"]]), hide_index=True, width="stretch")


with guard(f"campaign run {run_id}"):
    campaign()
