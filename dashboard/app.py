"""The Agora dashboard (Streamlit): `agora dashboard [--store PATH]` runs this file.

Reads the run store named by $AGORA_STORE (read-only). One file per page under views/ (not pages/, which Streamlit would also list by itself).
"""

import streamlit as st

st.set_page_config(page_title="Agora", layout="wide")
pages = st.navigation([
    st.Page("views/runs.py", title="Runs", default=True),
    st.Page("views/run_detail.py", title="Run detail"),
    st.Page("views/campaigns.py", title="Campaigns"),
    st.Page("views/sweeps.py", title="Sweeps"),
    st.Page("views/trade_off.py", title="Trade-off"),
    st.Page("views/case_studies.py", title="Case studies"),
    st.Page("views/probes.py", title="Probes"),
    st.Page("views/memory.py", title="Memory"),
])
pages.run()
