"""End to end in headless Chromium: `agora dashboard` serves the Trade-off and Case studies pages with their text
and charts. Chromium and its driver come from the test set-up (README / .ci/run), not from this test."""

import os
import shutil
import socket
import time

import pytest

selenium = pytest.importorskip("selenium", reason="selenium comes with the [dev] extra")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from tests.dashboard.conftest import answers, start_dashboard  # noqa: E402

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs chromium and chromium-driver (apt), as .ci/run installs")


@pytest.fixture(scope="module")
def served(dash_store):
    proc, url = start_dashboard(dash_store["root"])
    yield url
    proc.terminate()
    assert proc.wait(timeout=20) == 0
    deadline = time.time() + 20
    while answers(url) and time.time() < deadline:
        time.sleep(0.2)
    assert not answers(url), "a Streamlit server outlived agora dashboard after SIGTERM"


@pytest.fixture(scope="module")
def browser():
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,2000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def shots_dir(tmp_path):
    folder = os.environ.get("AGORA_SCREENSHOTS")
    return os.path.abspath(folder) if folder else str(tmp_path)


def visit(browser, url: str, *texts: str, timeout: int = 90):
    """Open `url` and wait until every one of `texts` is on the page (Streamlit renders in several passes)."""
    browser.get(url)
    WebDriverWait(browser, timeout).until(lambda d: all(t in d.find_element(By.TAG_NAME, "body").text for t in texts))
    WebDriverWait(browser, timeout).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot, mark, [data-testid='stMarkdownContainer']"))


def test_trade_off_page_in_chromium(served, browser, tmp_path):
    visit(browser, f"{served}/trade_off", "The study's table, from this store")
    WebDriverWait(browser, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")) >= 2)
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "sales" in body and "social" in body and "reference study" in body
    os.makedirs(shots_dir(tmp_path), exist_ok=True)
    assert browser.save_screenshot(os.path.join(shots_dir(tmp_path), "trade_off.png"))


def test_case_studies_page_in_chromium(served, browser, tmp_path):
    try:
        visit(browser, f"{served}/case_studies", "Drift case studies", "base model", "tuned model", "Open run")
    except TimeoutException:
        pytest.fail("the case studies page never showed its title, both models and the run links")
    os.makedirs(shots_dir(tmp_path), exist_ok=True)
    assert browser.save_screenshot(os.path.join(shots_dir(tmp_path), "case_studies.png"))


def test_dashboard_listens_on_loopback_only(served):
    port = int(served.rsplit(":", 1)[1])
    addresses = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1", "127.0.1.1"}
    for address in addresses:
        with socket.socket() as s, pytest.raises(OSError):
            s.settimeout(1)
            s.connect((address, port))
