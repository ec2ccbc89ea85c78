"""Probes: validation against the gold labels — P/R/F1 per probe and category, confusion matrices, and where
the probes disagree with each other."""

import pandas as pd
import plotly.express as px
import streamlit as st

from agora.dashboard import charts, data
from agora.dashboard.ui import guard, literal, nothing_yet, trimmed

st.title("Probe validation")
with guard("the probe validation"):
    runs = data.runs_of("validation")
    if runs.empty:
        nothing_yet("No probe validation in this store yet. Run `agora probes validate` "
                    "(add `--judge openai:MODEL@URL` or `--judge hf:PATH` to validate an LLM judge too).")
    run_id = st.selectbox("validation run", runs["run_id"].tolist())
    path = data.store_root() / run_id
    table, preds = data.table(path, "validation"), data.table(path, "predictions")
    if "gold" in table:  # validations since the real-output gold set: one gold set at a time
        sets = list(dict.fromkeys(table["gold"]))
        gold = st.radio("gold set", sets, index=sets.index("real-output") if "real-output" in sets else 0, horizontal=True,
                        help="real-output: messages real models wrote, labelled blind to the probes; "
                             "hand-written: short sentences with one planted error each")
        table, preds = table[table["gold"] == gold], preds[preds["gold"] == gold] if "gold" in preds else preds
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ("precision", "recall", "f1")})
    fig = px.bar(table.assign(target=table["task"] + " · " + table["category"]), x="target", y="f1", color="probe",
                 barmode="group", range_y=[0, 1], labels={"target": "", "f1": "F1 on the gold test split"})
    fig.add_hline(y=0.9, line=dict(dash="dot", color="#999"))
    st.plotly_chart(fig, width="stretch")
    st.subheader("Confusion matrices")
    cols = st.columns(3)
    for i, (_, r) in enumerate(table.iterrows()):
        cols[i % 3].markdown(f"**{literal(r['probe'])}** · {literal(r['task'])} · {literal(r['category'])}")
        cols[i % 3].plotly_chart(charts.confusion(r), width="stretch", key=f"cm-{i}", config={"displayModeBar": False})
    st.subheader("Disagreements between probes")
    if preds.empty or preds["probe"].nunique() < 2:
        nothing_yet("Disagreements need verdicts from at least two probes on the same messages.")
    wide = preds.pivot_table(index=["id", "task", "category", "truth"], columns="probe", values="label", aggfunc="first")
    rows, split = [], []
    for (t, c), g in wide.groupby(level=["task", "category"]):
        g = g.dropna(axis=1, how="all").dropna().astype(int)  # the probes that judge this category
        if g.shape[1] < 2:
            continue
        differ = g.nunique(axis=1) > 1
        rows.append({"task": t, "category": c, "messages": len(g), "probes disagree": int(differ.sum()),
                     **{f"{p} right": int((g[p] == g.index.get_level_values("truth")).sum()) for p in g.columns}})
        split.append(g[differ].reset_index())
    if not rows:
        nothing_yet("No category was judged by two probes on the same messages.")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    split = pd.concat(split, ignore_index=True)
    messages = preds.drop_duplicates("id").set_index("id")["message"]
    split.insert(4, "message", split["id"].map(messages))
    st.dataframe(trimmed(split), hide_index=True, width="stretch", column_config={"message": st.column_config.TextColumn(width="large")})
