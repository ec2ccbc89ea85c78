"""No Streamlit server outlives `agora dashboard`, even one killed outright (SIGTERM: the browser test's teardown)."""

import signal
import time

from tests.dashboard.conftest import answers, start_dashboard


def test_the_server_goes_with_the_command_even_on_sigkill(tmp_path):
    proc, url = start_dashboard(tmp_path / "runs")
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=20) == -signal.SIGKILL
    deadline = time.time() + 20
    while answers(url) and time.time() < deadline:
        time.sleep(0.2)
    assert not answers(url), f"a Streamlit server still answers at {url} after agora dashboard was killed"
