"""Small pieces every page shares: the guard that turns an unreadable run into a plain message, span marking, and
showing model-written text as written.

Model text is shown as one HTML block of escaped text (`verbatim`): inert (no tag, link or script of its own can
act) and readable (markdown, LaTeX and emoji codes in it stay as typed, since markdown is not parsed inside an HTML
block), cut to `LIMIT` characters with a note, and with the invisible characters that hide or reorder text shown as
their code points. Tables shorten long cells the same way (`trimmed`); the run's own tables keep every text whole.
Text from a file or a model inside Streamlit's own markdown (an alert, a caption, a heading: an error message, a
name, a path) goes in as `literal` markdown or, for paths and ids, as `code`, which show it as written the same way.
"""

from __future__ import annotations

import html
import logging
import re
from contextlib import contextmanager
from typing import NoReturn

import pandas as pd
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
        st.warning(f"Could not show {literal(what)}: {literal(f'{type(err).__name__}: {err}')}. The run may be from an "
                   "older version of Agora or still being written; its files are untouched.")


def nothing_yet(message: str) -> NoReturn:
    """Say what the page would show and how to make it, and end the page there."""
    st.info(message)
    st.stop()


def empty_store() -> NoReturn:
    nothing_yet(f"No runs in {code(store_root())} yet. Make some with `agora run --task social --contests 20`, "
                "or point the dashboard at another store with `agora dashboard --store PATH`.")


LIMIT = 10_000  # characters of one text that a page shows
# zero-width spaces and bidirectional controls (not the joiners that emoji and some scripts need)
_HIDDEN = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_LINE = re.compile(r"\r\n|\r|\n")  # every line ending markdown knows: a blank line would end the HTML block


_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character, each escapable in markdown


def visible(text: str) -> str:
    """Hidden characters shown as ⟨U+202E⟩."""
    return _HIDDEN.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", text)


def escape(text: str) -> str:
    """HTML-escaped, with hidden characters shown."""
    return visible(html.escape(text))


def literal(text) -> str:
    """Markdown that shows `text` as written, shortened, hidden characters shown: every ASCII punctuation character
    backslash-escaped (CommonMark allows it for each), so no link, markup, HTML, LaTeX or colour code in it acts."""
    return _PUNCTUATION.sub(r"\\\1", visible(shorten(str(text))))


def code(text) -> str:
    """Markdown that shows `text` (a path, an id) as inline code, as written: fenced by more backticks than it holds,
    on one line, hidden characters shown."""
    text = visible(shorten(str(text))).replace("\r", " ").replace("\n", " ")
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"


def shorten(text: str, limit: int = LIMIT) -> str:
    return text if len(text) <= limit else f"{text[:limit]} … [{len(text) - limit:,} more characters not shown]"


def marked(text: str, spans: list[dict]) -> str:
    """`text` as HTML with each evidence span highlighted and its reason as a tooltip."""
    out, at = [], 0
    for span in sorted(spans, key=lambda s: s["start"]):
        start, end = int(span["start"]), int(span["end"])
        if start < at or end > len(text):
            continue  # overlapping or stale spans (or cut off by `shorten`): keep the text readable
        out += [escape(text[at:start]),
                f'<mark style="background:#ffd6d6" title="{escape(str(span.get("reason", "")))}">'
                f"{escape(text[start:end])}</mark>"]
        at = end
    out.append(escape(text[at:]))
    return _LINE.sub("<br>", "".join(out))


def verbatim(text, spans: list[dict] = ()) -> str:
    """Model-written text for `st.markdown(..., unsafe_allow_html=True)`: shown as written (see the module)."""
    return f'<div style="white-space: pre-wrap">{marked(shorten(str(text)), list(spans))}</div>'


def pick_contest(contests: pd.DataFrame, label: str) -> int:
    """The contest to show: the page's `?contest=` when it names one of the run's, else the first; kept in the URL so
    a shared link opens on it."""
    numbers = sorted(contests["contest"].tolist())
    wanted = st.query_params.get("contest")
    start = int(wanted) if wanted and wanted.isdigit() and int(wanted) in numbers else numbers[0]
    contest = st.select_slider(label, numbers, value=start) if len(numbers) > 1 else numbers[0]
    st.query_params["contest"] = str(contest)
    return contest


def trimmed(table: pd.DataFrame) -> pd.DataFrame:
    """A table to show, its long texts shortened; columns without one are left as they are."""
    long = [c for c in table.columns if table[c].map(lambda v: isinstance(v, str) and len(v) > LIMIT).any()]
    return table.assign(**{c: table[c].map(lambda v: shorten(v) if isinstance(v, str) else v) for c in long})


def shortened(value):
    """A JSON value to show, every string in it shortened."""
    if isinstance(value, str):
        return shorten(value)
    if isinstance(value, dict):
        return {k: shortened(v) for k, v in value.items()}
    return [shortened(v) for v in value] if isinstance(value, list) else value


def open_run_button(run_id: str, contest: int | None = None, key: str | None = None) -> None:
    if st.button(f"Open run {run_id}", key=key or f"open-{run_id}-{contest}"):
        params = {"run": run_id} | ({"contest": str(contest)} if contest is not None else {})
        st.switch_page("views/run_detail.py", query_params=params)
