"""Runs: the store's index as a filterable, sortable table; pick one to open it."""

import streamlit as st

from agora.dashboard import data
from agora.dashboard.ui import code, empty_store, guard

st.title("Runs")
st.caption(f"store: {code(data.store_root())}")
with guard("the run index"):
    df = data.runs()
    if df.empty:
        empty_store()
    c1, c2, c3, c4 = st.columns(4)
    kinds = c1.multiselect("kind", sorted(df["kind"].dropna().unique()))
    tasks = c2.multiselect("task", sorted(df["task"].dropna().unique()))
    statuses = c3.multiselect("status", sorted(df["status"].dropna().unique()))
    text = c4.text_input("policy or id contains")
    shown = df
    for column, chosen in (("kind", kinds), ("task", tasks), ("status", statuses)):
        if chosen:
            shown = shown[shown[column].isin(chosen)]
    if text:
        shown = shown[shown["run_id"].str.contains(text, regex=False) | shown["policy"].fillna("").str.contains(text, regex=False)]
    columns = ["run_id", "kind", "task", "policy", "opponent", "method", "audience", "seed", "status", "contests",
               "vote share", *data.HEADLINES.values(), "created_at", "seconds"]
    columns = [c for c in dict.fromkeys(columns) if c in shown]
    st.dataframe(shown[columns], hide_index=True, width="stretch",
                 column_config={"policy": st.column_config.TextColumn(width="medium"),
                                "abstention rate": st.column_config.NumberColumn(format="percent"),
                                "names + true fact": st.column_config.NumberColumn(format="percent")})
    st.caption(f"{len(shown)} of {len(df)} runs")
    chosen = st.selectbox("Open a run", shown["run_id"].tolist(), index=None, placeholder="run id")
    if chosen and st.button("Open", type="primary"):
        st.switch_page("views/run_detail.py", query_params={"run": chosen})
