"""The session-end check finds a server the tests started even once it is orphaned, and never another session's."""

import os
import signal
import subprocess
import sys

from tests.conftest import SESSION, servers_started_here


def orphan(env: dict) -> int:
    """A process named like a Streamlit server whose parent has already exited; its pid."""
    shell = subprocess.run(["sh", "-c", f"'{sys.executable}' -c 'import time; time.sleep(60)' streamlit >/dev/null 2>&1 & echo $!"],
                           env=env, capture_output=True, text=True, check=True)
    return int(shell.stdout)


def test_an_orphaned_server_of_this_session_is_found_and_another_sessions_is_not():
    ours = orphan(dict(os.environ))
    theirs = orphan({k: v for k, v in os.environ.items() if k != SESSION})
    try:
        found = {p.pid for p in servers_started_here()}
        assert ours in found and theirs not in found
    finally:
        for pid in (ours, theirs):
            os.kill(pid, signal.SIGKILL)
