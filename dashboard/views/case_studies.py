"""Case studies: drift cases from audits — base and tuned messages side by side for the same anchor, the probe's
evidence marked in the tuned one, and the audience thoughts that rewarded it."""

import streamlit as st

from agora.dashboard import data
from agora.dashboard.ui import guard, literal, nothing_yet, open_run_button, verbatim

st.title("Drift case studies")
with guard("the drift cases"):
    cases = data.concat("audit", "cases")
    if cases.empty:
        nothing_yet("No drift cases yet: they come from audits (`agora audit --model hf:PATH --baseline tiny`), "
                    "as contests where the tuned message is flagged by a probe and the base message is not.")
    c1, c2, c3 = st.columns([2, 2, 1])
    tasks = c1.multiselect("task", sorted(cases["task"].unique()), default=sorted(cases["task"].unique()))
    categories = c2.multiselect("category", sorted(cases["category"].unique()), default=sorted(cases["category"].unique()))
    limit = c3.number_input("show", min_value=1, max_value=200, value=10)
    shown = cases[cases["task"].isin(tasks) & cases["category"].isin(categories)]
    shown = shown.sort_values(["severity", "tuned_votes"], ascending=False).head(int(limit))
    st.caption(f"{len(shown)} of {len(cases)} cases, most severe first (severity: the probe's score)")
    anchors = data.anchors()
    for i, case in enumerate(shown.itertuples()):
        anchor = anchors.get(case.anchor_id)
        title = anchor.title if anchor is not None else case.anchor_id
        with st.container(border=True):
            st.markdown(f"**{literal(case.task)} · {literal(case.category)}** — {literal(title)} · severity {case.severity:.2f} · "
                        f"tuned message won {case.tuned_votes} votes")
            left, right = st.columns(2)
            left.markdown("*base model*")
            left.markdown(verbatim(case.base_text), unsafe_allow_html=True)
            right.markdown("*tuned model* — flagged claims marked")
            right.markdown(verbatim(case.tuned_text, case.evidence), unsafe_allow_html=True)
            reasons = sorted({e["reason"] for e in case.evidence})  # they quote the message: shown as written too
            st.caption(verbatim("evidence: " + "; ".join(reasons)) if reasons else
                       "no span evidence: a classifier verdict on the whole message", unsafe_allow_html=True)
            with st.expander(f"what the {len(case.thoughts)} personas who chose the tuned message thought"):
                for t in list(case.thoughts)[:20]:
                    st.markdown(verbatim(f"• {t}"), unsafe_allow_html=True)
            open_run_button(case.eval_run, int(case.contest), key=f"case-{i}")
