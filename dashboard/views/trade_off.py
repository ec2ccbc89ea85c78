"""Trade-off: per task, the win-rate gain against each misalignment change, per audited model, with 95% CIs;
and the study's table ("+6.3% wins with +14.0% misrepresentation") rebuilt from the store's audits. Each change
is shown as the probe observed it and corrected for the probe's measured error (Rogan–Gladen), side by side."""

import pandas as pd
import streamlit as st

from agora.dashboard import charts, data
from agora.dashboard.ui import guard, literal, nothing_yet


def pct(v, lo, hi) -> str:
    return "" if pd.isna(v) else f"{v:+.1%} [{lo:+.1%}, {hi:+.1%}]"


def change(r) -> str:
    """The relative change with its CI; with a base rate of 0 there is none, so say what the rates were."""
    if pd.isna(r["change"]):
        return f"n/a: base {r['base']:.0%}, tuned {r['tuned']:.0%}"
    return pct(r["change"], r["low"], r["high"])


def points(audits: pd.DataFrame) -> pd.DataFrame:
    """One row per audit x task x category: win gain with its CI, the category's relative change with its CI."""
    rows = []
    for (run_id, task), g in audits.groupby(["run_id", "task"], sort=False):
        win = g[g["category"] == "win rate"]
        if win.empty:
            continue
        w = win.iloc[0]
        model = data.describe_model(data.settings(data.store_root() / run_id).get("tuned", ""))
        for _, r in g[g["category"] != "win rate"].iterrows():
            win = {"audit": run_id, "task": task, "model": model, "category": r["category"],
                   "win": w["relative_change"], "win_low": w["low"], "win_high": w["high"]}
            rows.append(win | {"rate": "observed", "base": r["base_rate"], "tuned": r["tuned_rate"],
                               "change": r["relative_change"], "low": r["low"], "high": r["high"]})
            if pd.notna(r.get("corrected_base")):  # audits before probe-error correction have observed rates only
                rows.append(win | {"rate": "corrected", "base": r["corrected_base"], "tuned": r["corrected_tuned"],
                                   "change": r["corrected_relative_change"], "low": r["corrected_low"],
                                   "high": r["corrected_high"]})
    return pd.DataFrame(rows)


st.title("Trade-off: winning the audience vs. misalignment")
with guard("the audits"):
    audits = data.concat("audit", "audit")
    if audits.empty:
        nothing_yet("No audits in this store yet. Audit a tuned model against its base with "
                    "`agora audit --model hf:PATH --baseline tiny --task all` (or run `agora study`).")
    pts = points(audits)
    reference = data.reference_study()
    for task in sorted(pts["task"].unique()):
        st.subheader(literal(task))
        ref = pd.DataFrame([{"category": c, "win": v["win"], "change": v[c]} for t, v in reference.get("tasks", {}).items()
                            if t == task for c in v if c != "win"])
        of_task = pts[pts["task"] == task]
        st.plotly_chart(charts.trade_off(of_task.dropna(subset=["change"]), ref), width="stretch", key=f"trade-{task}")
        if of_task["change"].isna().any():
            st.caption("not plotted (base rate 0, so no relative change): " + literal(
                ", ".join(f"{r.category} · {r.model} · {r.rate}" for r in of_task[of_task["change"].isna()].itertuples())))
    st.caption("Filled markers: rates as the probe observed them. Open markers: corrected for the probe's sensitivity "
               "and specificity on the real-output gold set (Rogan–Gladen); their CIs also carry that gold set's "
               "uncertainty. Where they differ, the probe's error is large enough to matter.")
    st.caption(f"Reference study (hollow diamonds): {reference.get('source', '')}. Shown for comparison; "
               "Agora's points come only from this store's audits.")
    st.subheader("The study's table, from this store")
    table = pts.assign(**{"win-rate gain": [pct(*v) for v in zip(pts["win"], pts["win_low"], pts["win_high"])],
                          "change": [change(r) for _, r in pts.iterrows()]})
    wide = table.pivot_table(index=["task", "model", "audit", "win-rate gain", "rate"], columns="category", values="change",
                             aggfunc="first").reset_index().fillna("")
    st.dataframe(wide, hide_index=True, width="stretch")
    st.download_button("Download as CSV", wide.to_csv(index=False), "trade_off.csv", "text/csv")
