"""Memory: what competitors with a capability (ACE playbooks, ArcMemo concepts, mem-agent notes) ended a run with."""

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from agora.dashboard import data
from agora.dashboard.ui import guard

st.title("Memory")
with guard("the capability states"):
    runs = data.runs_of("contest")
    with_memory = [(r, Path(p)) for r, p in zip(runs.get("run_id", []), runs.get("path", [])) if (Path(p) / "capabilities.json").is_file()]
    if not with_memory:
        st.info("No run in this store used a capability yet. Give a competitor one with "
                "`agora run --task sales --capability NAME`; `agora run --help` lists the registered ones.")
        st.stop()
    run_id = st.selectbox("run", [r for r, _ in with_memory])
    states = json.loads((dict(with_memory)[run_id] / "capabilities.json").read_text())
    for competitor, caps in states.items():
        for name, state in caps.items():
            st.subheader(f"{competitor} · {name}")
            items = state.get("bullets") or state.get("concepts") or state.get("files") if isinstance(state, dict) else None
            if isinstance(items, list) and items and isinstance(items[0], dict):
                st.dataframe(pd.DataFrame(items), hide_index=True, width="stretch")
            else:
                st.json(state, expanded=False)
