"""Sweeps: each sweep's cells with their settings, status and headline metrics, and one metric across a setting."""

import plotly.express as px
import streamlit as st

from agora.dashboard import data
from agora.dashboard.ui import guard, nothing_yet

st.title("Sweeps")
with guard("the sweeps"):
    runs = data.runs_of("sweep")
    if runs.empty:
        nothing_yet("No sweep in this store yet. Run `agora sweep SWEEP.yaml` (an example: scenarios/sweeps/example.yaml).")
    run_id = st.selectbox("sweep", runs["run_id"].tolist())
    summary = data.table(data.store_root() / run_id, "summary")
    if summary.empty:
        st.warning("This sweep has not finished a pass yet: run the same `agora sweep` command again to resume it.")
        st.stop()
    done = int((summary["status"] == "finished").sum())
    st.caption(f"{done} of {len(summary)} cells finished · {int(summary['contests_done'].sum())} contests")
    st.dataframe(summary, hide_index=True, width="stretch")
    settings = [c for c in summary.columns[1:summary.columns.get_loc("run_id")] if summary[c].nunique() > 1]
    metrics = [c for c in summary.select_dtypes("number").columns if c not in ("cell", "contests_done", *settings)]
    if settings and metrics:
        left, right = st.columns(2)
        x = left.selectbox("setting", settings)
        y = right.selectbox("metric", metrics, index=metrics.index("win_share B") if "win_share B" in metrics else 0)
        colour = next((s for s in settings if s != x), None)
        fig = px.strip(summary, x=x, y=y, color=colour, hover_data=["run_id"])
        st.plotly_chart(fig, width="stretch")
