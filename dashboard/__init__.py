"""Streamlit views of the run store (sweeps, trade-offs, drift case studies). Not built yet: see the open issues."""
