"""Run detail: the contest browser (anchor facts, messages, each persona's thought and choice), the persona x
contest choice heatmap and, for social runs, the cascade over the persona graph. A campaign (h > 1 rounds) shows its
last round, whose messages the votes followed, and links to the Campaigns page for every round."""

from pathlib import Path

import streamlit as st
import yaml

from agora.dashboard import charts, data
from agora.dashboard.ui import code, empty_store, guard, literal, pick_contest, trimmed, verbatim
from agora.sim.campaign import final_round

st.title("Run detail")
df = data.runs()
if df.empty:
    empty_store()
ids = df["run_id"].tolist()
wanted = st.query_params.get("run")
run_id = st.selectbox("run", ids, index=ids.index(wanted) if wanted in ids else 0)
st.query_params["run"] = run_id
row = df[df["run_id"] == run_id].iloc[0]
path = Path(row["path"])
st.markdown(f"**{literal(row['kind'])}** run · task {code(row['task'])} · status **{literal(row['status'])}** · "
            f"{code(path)}")
with st.expander("config"):
    found, note = (None, "") if row["kind"] == "contest" else data.record(path)
    shown = found.model_dump(mode="json") if found is not None else data.config(path)
    st.code(yaml.safe_dump(shown, sort_keys=False) or "(no config.yaml)", language="yaml")
    if note:
        st.caption(f"shown as saved, not as a record: {literal(note)}")


def other_kind() -> None:
    """Train, audit, study and validation runs: their tables as they are."""
    tables = sorted(p.stem for p in path.glob("*.parquet"))
    if not tables:
        st.info("This run has no tables (yet).")
    for name in tables:
        st.subheader(literal(name))
        st.dataframe(trimmed(data.table(path, name)), hide_index=True, width="stretch")
    for md in path.glob("*.md"):
        st.markdown(md.read_text())


def contest_run() -> None:
    messages, judgments, contests = (data.table(path, n) for n in ("messages", "judgments", "contests"))
    if contests.empty:
        st.info("No contest of this run has finished yet.")
        return
    if row["status"] != "finished":
        st.caption(f"showing the {len(contests)} contests finished so far ({literal(row['status'])})")
    contest = pick_contest(contests, "contest")
    c = contests[contests["contest"] == contest].iloc[0]
    anchor = data.anchors().get(c["anchor_id"])
    st.subheader(literal(anchor.title if anchor is not None else c["anchor_id"]))
    horizon = int(messages["round"].max()) if "round" in messages and len(messages) else 1
    if horizon > 1:  # the vote follows the last round: its messages and the votes, not round 1's and provisional leans
        messages, judgments = final_round(messages), final_round(judgments)
        st.caption(f"a campaign of {horizon} rounds: shown is round {horizon} of {horizon}, the last messages the "
                   "audience read, and its votes")
        st.page_link("views/campaigns.py", label="every round on the Campaigns page",
                     query_params={"run": run_id, "contest": str(contest)})
    if anchor is not None:
        with st.expander("anchor facts", expanded=False):
            st.markdown(verbatim(anchor.text), unsafe_allow_html=True)
    names = list(c["competitors"])
    votes = dict(zip(names, list(c["votes"])))
    cols = st.columns(len(names))
    for col, name in zip(cols, names):
        m = messages[(messages["contest"] == contest) & (messages["competitor"] == name)]
        won = " — winner" if c["winner"] == name else ""
        col.markdown(f"**{literal(name)}**{won} · {votes.get(name, 0)} votes")
        col.caption(literal(m["policy"].iat[0]) if len(m) else "")
        col.markdown(verbatim(m["text"].iat[0]) if len(m) else "(no message)", unsafe_allow_html=True)
    j = judgments[judgments["contest"] == contest][["persona_id", "choice", "thought", "parse_status"]]
    st.dataframe(trimmed(j), hide_index=True, width="stretch")
    st.subheader("Choices, persona × contest")
    st.plotly_chart(charts.choice_heatmap(judgments, names), width="stretch")
    if data.spreads(path):
        graph, how = data.network(path)
        if graph is None:
            st.info("This run has no persona graph on record.")
            return
        st.subheader("Cascade over the persona graph")
        who = st.radio("post by", names, horizontal=True)
        seeds = list(c["cascade_seeds"]) if "cascade_seeds" in c and c["cascade_seeds"] is not None else []
        likes = dict(zip(names, list(c["cascade_likes"])))
        spread = data.table(path, "cascades")
        spread = spread[spread["contest"] == contest] if len(spread) else spread
        reach = {r.persona_id: (who in list(r.saw), who in list(r.shared)) for r in spread.itertuples()} or None
        st.caption(f"graph {how}; {likes.get(who, 0)} likes via sharing; thick outline: where the post started"
                   + ("" if seeds else "; start not recorded by this older run")
                   + ("" if reach else "; reach not recorded by this older run: colours show choices"))
        st.plotly_chart(charts.cascade(graph, dict(zip(j["persona_id"], j["choice"])), seeds, who, reach), width="stretch")


with guard(f"run {run_id}"):
    if row["kind"] == "contest":
        contest_run()
    else:
        other_kind()
