"""Plotly figures: the choice heatmap, the cascade over the persona graph, the trade-off plane, confusion matrices."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

PALETTE = {"A": "#4C78A8", "B": "#F58518", "": "#BBBBBB"}


def choice_heatmap(judgments: pd.DataFrame, competitors: list[str]) -> go.Figure:
    """Persona x contest: whom each persona chose (grey: abstained)."""
    codes = {"": 0, **{c: i + 1 for i, c in enumerate(competitors)}}
    grid = judgments.assign(code=judgments["choice"].map(codes).fillna(0)).pivot_table(
        index="persona_id", columns="contest", values="code", aggfunc="first")
    colors = [PALETTE.get(c, px.colors.qualitative.Plotly[i % 10]) for i, c in enumerate([""] + competitors)]
    n = len(colors)
    scale = [v for k in range(n) for v in ([k / n, colors[k]], [(k + 1) / n, colors[k]])]  # one flat band per code
    fig = go.Figure(go.Heatmap(z=grid.values, x=grid.columns, y=grid.index, zmin=0, zmax=n - 1 if n > 1 else 1,
                               colorscale=scale, showscale=False, xgap=1, ygap=1,
                               hovertemplate="persona %{y}<br>contest %{x}<extra></extra>"))
    for name in [""] + competitors:  # a legend for the categorical colours
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name or "abstained",
                                 marker=dict(size=10, color=PALETTE.get(name, "#888"), symbol="square")))
    fig.update_layout(height=max(300, 18 * len(grid.index) + 80), xaxis_title="contest", yaxis_title="persona",
                      margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=1.08))
    return fig


def cascade(graph: nx.Graph, choices: dict[str, str], seeds: list[str], competitor: str,
            reach: dict[str, tuple[bool, bool]] | None = None) -> go.Figure:
    """The persona graph (spring layout, fixed seed) with where `competitor`'s post started and how far it went:
    from the run's cascades table (`reach`: persona -> (saw it, shared it)), who shared it, who saw it and did not,
    and whom it never reached. A run older than that table shows only who chose the post."""
    pos = nx.spring_layout(graph, seed=0)
    edge_x, edge_y = [], []
    for u, v in graph.edges():
        edge_x += [pos[u][0], pos[v][0], None]
        edge_y += [pos[u][1], pos[v][1], None]
    fig = go.Figure(go.Scatter(x=edge_x, y=edge_y, mode="lines", line=dict(color="#CCCCCC", width=1), hoverinfo="skip",
                               showlegend=False))
    if reach is None:
        groups = {"chose it": [n for n in graph if choices.get(n) == competitor],
                  "chose another": [n for n in graph if choices.get(n) not in (competitor, None, "")],
                  "abstained": [n for n in graph if choices.get(n) in (None, "")]}
    else:
        saw, shared = ({n for n, r in reach.items() if r[i]} for i in (0, 1))
        groups = {"shared it": [n for n in graph if n in shared],
                  "saw it, did not share": [n for n in graph if n in saw - shared],
                  "never reached": [n for n in graph if n not in saw]}
    first, second, third = groups
    colors = {first: PALETTE.get(competitor, "#4C78A8"), second: "#DDDDDD", third: "#FFFFFF"}
    for label, nodes in groups.items():
        fig.add_trace(go.Scatter(
            x=[pos[n][0] for n in nodes], y=[pos[n][1] for n in nodes], mode="markers", name=label, text=nodes,
            hovertemplate="%{text}<extra></extra>",
            marker=dict(size=[22 if n in seeds else 14 for n in nodes], color=colors[label],
                        line=dict(color=["black" if n in seeds else "#888" for n in nodes],
                                  width=[3 if n in seeds else 1 for n in nodes]))))
    fig.update_layout(height=420, xaxis=dict(visible=False), yaxis=dict(visible=False), margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h", y=1.08), plot_bgcolor="white")
    return fig


def trade_off(points: pd.DataFrame, reference: pd.DataFrame) -> go.Figure:
    """Win-rate gain (x) against misalignment change (y), with 95% CI bars, filled as observed and open as corrected
    for probe error; the reference study as hollow diamonds."""
    fig = go.Figure()
    colors = dict(zip(sorted(points["category"].unique()), px.colors.qualitative.Set1))
    symbols = dict(zip(sorted(points["model"].unique()), ["circle", "square", "triangle-up", "star", "hexagon", "cross"] * 10))
    if "rate" not in points:
        points = points.assign(rate="observed")
    for (category, model, rate), g in points.groupby(["category", "model", "rate"], sort=True):
        fig.add_trace(go.Scatter(
            x=g["win"], y=g["change"], mode="markers", name=f"{category} · {model} · {rate}",
            error_x=dict(type="data", symmetric=False, array=g["win_high"] - g["win"], arrayminus=g["win"] - g["win_low"]),
            error_y=dict(type="data", symmetric=False, array=g["high"] - g["change"], arrayminus=g["change"] - g["low"]),
            marker=dict(size=11, color=colors[category], symbol=symbols[model] + ("-open" if rate == "corrected" else "")),
            customdata=g[["audit"]],
            hovertemplate="win %{x:+.1%}<br>change %{y:+.1%}<br>audit %{customdata[0]}<extra></extra>"))
    if len(reference):
        fig.add_trace(go.Scatter(x=reference["win"], y=reference["change"], mode="markers+text", name="reference study",
                                 text=reference["category"], textposition="middle left",
                                 marker=dict(size=12, symbol="diamond-open", color="black")))
    fig.add_hline(y=0, line=dict(color="#999", dash="dot"))
    fig.add_vline(x=0, line=dict(color="#999", dash="dot"))
    fig.update_layout(xaxis_title="win-rate gain over base (excess win rate)", yaxis_title="misalignment change (relative)",
                      xaxis_tickformat="+.0%", yaxis_tickformat="+.0%", height=460, margin=dict(l=10, r=10, t=30, b=10))
    return fig


def confusion(row: pd.Series) -> go.Figure:
    z = [[row["tn"], row["fp"]], [row["fn"], row["tp"]]]
    fig = px.imshow(z, x=["predicted no", "predicted yes"], y=["gold no", "gold yes"], text_auto=True,
                    color_continuous_scale="Blues", aspect="auto")
    fig.update_layout(height=240, coloraxis_showscale=False, margin=dict(l=10, r=10, t=10, b=10))
    return fig
