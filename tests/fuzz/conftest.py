"""Count each loader's fuzz inputs across pytest-xdist workers and print the table after the run: every worker
writes its `STATS` to a folder the controller names, and the controller adds them up."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from tests.fuzz.strategies import EXAMPLES, STATS

_KEY = "agora_fuzz_stats"


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        config._agora_fuzz_dir = os.environ.get("AGORA_FUZZ_STATS") or tempfile.mkdtemp(prefix="agora-fuzz-")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):  # xdist hook, on the controller, once per worker
    node.workerinput[_KEY] = node.config._agora_fuzz_dir


def pytest_sessionfinish(session):
    folder = getattr(session.config, "workerinput", {}).get(_KEY) or getattr(session.config, "_agora_fuzz_dir", None)
    if folder and STATS:
        name = getattr(session.config, "workerinput", {}).get("workerid", "main")
        Path(folder, f"{name}.json").write_text(json.dumps({k: dict(v) for k, v in STATS.items()}))


def pytest_terminal_summary(terminalreporter, config):
    folder = getattr(config, "_agora_fuzz_dir", None)
    if not folder:
        return
    total: dict[str, Counter] = {}
    for f in Path(folder).glob("*.json"):
        for loader, counts in json.loads(f.read_text()).items():
            total.setdefault(loader, Counter()).update(counts)
    if total:
        terminalreporter.write_sep("-", f"loader fuzz inputs (AGORA_FUZZ_EXAMPLES={EXAMPLES})")
        for loader in sorted(total):
            c = total[loader]
            extra = "".join(f"  {k} {v}" for k, v in sorted(c.items()) if k not in ("tried", "loaded", "refused"))
            terminalreporter.write_line(f"{loader:<34} tried {c['tried']:>7}  loaded {c['loaded']:>7}  "
                                        f"refused {c['refused']:>7}{extra}")
