"""Text as a table, a file or a cache can hold it.

A JSON or YAML escape (`\\ud800`), a surrogateescape decode or a model's reply can make a lone surrogate, which no
UTF-8 file, Parquet table or SQLite cache can store: every way text comes in passes through here, so it is kept
with U+FFFD in place of what cannot be stored rather than crashing the write that meets it.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` with each lone surrogate as U+FFFD: no UTF-8 file, Parquet table or SQLite cache can hold one, and a
    model or a file can give one. A completion keeps its `truncated` mark."""
    if not _SURROGATE.search(text):
        return text
    return type(text)(_SURROGATE.sub("\ufffd", text), *([text.truncated] if hasattr(text, "truncated") else []))


def storable_value(value):
    """A JSON or YAML value with every string in it (keys too) `storable`."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable_value(k): storable_value(v) for k, v in value.items()}
    return [storable_value(v) for v in value] if isinstance(value, list) else value
