"""The operators' console in a real headless Chromium (Selenium + Debian's chromium-driver).

Starts ``edigw console`` as a process on the real broker, signs in, finds a dead-letter
group, replays it through the confirmation page, checks the message reached its queue,
and keeps a screenshot in tests/e2e/artifacts/ (git-ignored).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from gateway.messaging.naming import Names
from tests.integration.test_dlq_support import (
    BAD_COUNT,
    channel_for,
    dead_letter,
    depth,
    drain,
    settings_for,
    wait_depth,
)

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TOKEN = "e2e-console-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def console_url(gateway_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    config = tmp_path / "console.toml"
    config.write_text("[console]\nsample_interval = 0.5\n")
    log = (tmp_path / "console.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--config", str(config), "console", "--port", str(port)],
        env={**gateway_env, "EDIGW_CONSOLE_TOKEN": TOKEN},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"console did not start: {(tmp_path / 'console.log').read_text()}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    options = Options()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1400,1000",
        "--disable-dev-shm-usage",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    # A click that submits a form returns before the next page is there; on a loaded
    # machine the replay's confirmed publish takes a while. Look for elements up to 10 s.
    driver.implicitly_wait(10)
    try:
        yield driver
    finally:
        driver.quit()


def shows(browser: WebDriver, text: str, timeout: float = 10) -> bool:
    """Whether the page shows ``text`` within ``timeout``: a click returns before its page."""
    try:
        WebDriverWait(browser, timeout).until(lambda b: text in b.page_source)
    except TimeoutException:
        return False
    return True


def test_operator_signs_in_sees_a_group_and_replays_it(
    gateway_env: dict[str, str], console_url: str, browser: WebDriver
) -> None:
    settings = settings_for(gateway_env)
    names = Names(settings.name_prefix)
    inbound = names.inbound("apcs")
    dlq = names.dead_letter(inbound)
    with channel_for(settings) as ch:
        message_id = dead_letter(ch, settings, BAD_COUNT)
        assert wait_depth(ch, dlq, 1) == 1

        # Nothing that changes anything works anonymously.
        anonymous = urllib.request.Request(
            f"{console_url}/replay",
            data=urllib.parse.urlencode({"group": "EDIFACT_SYNTAX/decode"}).encode(),
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(anonymous, timeout=10)
        assert refused.value.code == 400
        assert wait_depth(ch, dlq, 1) == 1

        # 1. sign in (a wrong token first).
        browser.get(console_url + "/")
        assert "/login" in browser.current_url
        browser.find_element(By.ID, "operator").send_keys("carol")
        browser.find_element(By.ID, "token").send_keys("wrong")
        browser.find_element(By.ID, "sign-in").click()
        assert shows(browser, "Wrong token")
        browser.find_element(By.ID, "operator").send_keys("carol")
        browser.find_element(By.ID, "token").send_keys(TOKEN)
        browser.find_element(By.ID, "sign-in").click()

        # 2. the dead-letter group is there.
        row = browser.find_element(By.CSS_SELECTOR, 'tr.group[data-group="EDIFACT_SYNTAX/decode"]')
        assert "EDIFACT_SYNTAX/decode" in row.text and "apcs" in row.text
        ARTIFACTS.mkdir(exist_ok=True)
        assert browser.save_screenshot(str(ARTIFACTS / "console-dead-letters.png"))

        # The message detail shows the decoded verdict and the raw bytes.
        row.find_element(By.LINK_TEXT, "EDIFACT_SYNTAX/decode").click()
        browser.find_element(By.CSS_SELECTOR, "tr.letter a").click()
        assert shows(browser, "Still rejected")
        assert "UNT+99+1" in browser.find_element(By.CSS_SELECTOR, "pre.raw").text
        assert shows(browser, "MAN-DZALG-2611-002")

        # 3. replay it, through the confirmation page.
        browser.find_element(By.ID, "replay-one").click()
        assert "Replay 1 message(s)" in browser.find_element(By.TAG_NAME, "h1").text
        assert depth(ch, dlq) == 1  # the confirmation page changed nothing
        browser.find_element(By.ID, "confirm").click()
        flash = browser.find_element(By.CSS_SELECTOR, ".flash.ok").text
        assert "Replayed 1 message(s)" in flash

        # 4. it reached its queue, and left the dead-letter queue.
        assert wait_depth(ch, inbound, 1) == 1
        [(props, body)] = drain(ch, inbound)
        assert body == BAD_COUNT
        assert props.message_id == f"{message_id}~replay1"
        assert wait_depth(ch, dlq, 0) == 0

        # The audit trail shows who did it.
        browser.get(console_url + "/audit")
        assert shows(browser, "carol (console)")
        browser.get(console_url + "/")
        time.sleep(1.2)  # two samples of the queue chart, for the screenshot
        browser.refresh()

        # 5. keep a screenshot.
        shot = ARTIFACTS / "console-overview.png"
        assert browser.save_screenshot(str(shot))
        assert shot.stat().st_size > 5000
