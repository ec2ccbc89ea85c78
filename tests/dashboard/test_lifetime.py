"""No Streamlit server outlives `agora dashboard`: stopped by SIGTERM, or killed outright."""

import signal
import time

import pytest

from tests.dashboard.conftest import answers, start_dashboard


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_the_server_goes_with_the_command(tmp_path, sig):
    proc, url = start_dashboard(tmp_path / "runs")
    proc.send_signal(sig)
    code = proc.wait(timeout=20)
    assert code == (0 if sig == signal.SIGTERM else -signal.SIGKILL)
    deadline = time.time() + 20
    while answers(url) and time.time() < deadline:
        time.sleep(0.2)
    assert not answers(url), f"a Streamlit server still answers at {url} after the command got {sig.name}"
