"""Memory: what competitors with a capability (ACE playbooks, ArcMemo concepts, mem-agent notes) ended a run with —
contest runs and the `agora memory` experiments alike."""

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from agora.dashboard import data
from agora.dashboard.ui import guard, literal, nothing_yet, shortened, trimmed

ITEMS = ("bullets", "concepts", "files")  # the list each memory keeps, shown as a table

st.title("Memory")
with guard("the capability states"):
    runs = pd.concat([data.runs_of("contest"), data.runs_of("memory")])
    with_memory = [(r, Path(p)) for r, p in zip(runs.get("run_id", []), runs.get("path", [])) if (Path(p) / "capabilities.json").is_file()]
    if not with_memory:
        nothing_yet("No run in this store used a capability yet. Give a competitor one with "
                    "`agora run --task sales --capability NAME`; `agora run --help` lists the registered ones.")
    run_id = st.selectbox("run", [r for r, _ in with_memory])
    states = json.loads((dict(with_memory)[run_id] / "capabilities.json").read_text())
    for competitor, caps in states.items():
        if not isinstance(caps, dict) or "role_log" in caps or any(k in caps for k in ITEMS):  # one state, not a table of them
            caps = {"": caps}
        for name, state in caps.items():
            st.subheader(literal(" · ".join(x for x in (competitor, name) if x)))
            if not isinstance(state, dict):
                st.json(shortened(state), expanded=False)
                continue
            facts = {k: state[k] for k in ("embedder", "roles") if state.get(k)}
            if facts:
                st.caption(literal(", ".join(f"{k}: {v}" for k, v in facts.items())))
            if ran := (state.get("role_log") or {}).get("ran"):
                st.caption(literal("roles ran: " + ", ".join(f"{k} ×{v}" for k, v in sorted(ran.items()))))
            items = next((state[k] for k in ITEMS if isinstance(state.get(k), list) and state[k]), None)
            if items and isinstance(items[0], dict):
                st.dataframe(trimmed(pd.DataFrame(items)), hide_index=True, width="stretch")
            else:
                st.json(shortened(state), expanded=False)
