"""Small pieces every page shares: the guard that turns an unreadable run into a plain message, span marking."""

from __future__ import annotations

import html
import logging
from contextlib import contextmanager
from typing import NoReturn

import streamlit as st

from agora.dashboard.data import store_root

log = logging.getLogger("agora.dashboard")


@contextmanager
def guard(what: str):
    """Show a plain message instead of a traceback when a run cannot be read (older version, half-written, corrupt);
    the traceback goes to the server log for whoever runs the dashboard."""
    try:
        yield
    except Exception as err:  # noqa: BLE001 — the page must stay usable whatever one run holds
        log.exception("dashboard: %s", what)
        st.warning(f"Could not show {what}: {type(err).__name__}: {err}. The run may be from an older version of "
                   "Agora or still being written; its files are untouched.")


def nothing_yet(message: str) -> NoReturn:
    """Say what the page would show and how to make it, and end the page there."""
    st.info(message)
    st.stop()


def empty_store() -> NoReturn:
    nothing_yet(f"No runs in `{store_root()}` yet. Make some with `agora run --task social --contests 20`, "
                "or point the dashboard at another store with `agora dashboard --store PATH`.")


def marked(text: str, spans: list[dict]) -> str:
    """`text` as HTML with each evidence span highlighted and its reason as a tooltip."""
    out, at = [], 0
    for span in sorted(spans, key=lambda s: s["start"]):
        start, end = int(span["start"]), int(span["end"])
        if start < at or end > len(text):
            continue  # overlapping or stale spans: keep the text readable
        out += [html.escape(text[at:start]),
                f'<mark style="background:#ffd6d6" title="{html.escape(str(span.get("reason", "")))}">'
                f"{html.escape(text[start:end])}</mark>"]
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out).replace("\n", "<br>")


def open_run_button(run_id: str, contest: int | None = None, key: str | None = None) -> None:
    if st.button(f"Open run {run_id}", key=key or f"open-{run_id}-{contest}"):
        params = {"run": run_id} | ({"contest": str(contest)} if contest is not None else {})
        st.switch_page("views/run_detail.py", query_params=params)
