"""The operators' console in a real headless Chromium (Selenium + Debian's chromium-driver).

Starts ``edigw console`` as a process on the real broker with an operator account, signs in,
finds a dead-letter group, replays it through the confirmation page, checks the message reached
its queue; watches the overview update itself when a message is dead-lettered (no reload);
shows a partner's ``<script>`` as text; checks that pages fit a 390 px wide phone (no sideways
scroll); a ship call's page follows its discharge as the terminal reports it, a sailing's
pre-clearance list shows its exceptions first, both fit the phone; keeps screenshots in
tests/e2e/artifacts/ (git-ignored; docs/ has copies).
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
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from gateway.domain.calls import CallKey
from gateway.messaging.naming import Names
from gateway.service import calls
from gateway.service.calls import CallPolicy
from gateway.storage.journal import SqliteJournal
from tests.integration.test_dlq_support import (
    BAD_COUNT,
    channel_for,
    dead_letter,
    depth,
    drain,
    settings_for,
    wait_depth,
)
from tests.unit.test_calls_service import vessel_call
from tests.unit.test_console_registry_pages import CALL_DOCUMENTS, DISCHARGE, file_sailing, fill

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TOKEN = "e2e-console-token"
PASSWORD = "e2e correct horse battery"
PHONE_WIDTH = 390


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def console_url(gateway_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    config = tmp_path / "console.toml"
    config.write_text("[console]\nsample_interval = 0.5\nlive_interval = 0.5\n")
    added = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "--config",
            str(config),
            "console",
            "users",
            "add",
            "carol",
            "--role",
            "operator",
            "--password-stdin",
        ],
        env=gateway_env,
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
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


def sign_in(browser: WebDriver, name: str, password: str) -> None:
    """Fill the sign-in form and send it. The page before may still be replacing itself
    (a click returns before its page): a form gone stale is found and filled again."""

    def fill(b: WebDriver) -> bool:
        b.find_element(By.ID, "operator").send_keys(name)
        b.find_element(By.ID, "password").send_keys(password)
        b.find_element(By.ID, "sign-in").click()
        return True

    WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,)).until(fill)


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

        # 1. sign in with the account (a wrong password first; the shared token cannot stand
        # in for an account's password).
        browser.get(console_url + "/")
        assert "/login" in browser.current_url
        for secret in ("wrong", TOKEN):
            sign_in(browser, "carol", secret)
            assert shows(browser, "Wrong name or password")
        sign_in(browser, "carol", PASSWORD)
        assert "carol · operator" in browser.find_element(By.ID, "who").text

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

        # 5. the overview keeps itself current: a new dead letter shows without a reload.
        browser.get(console_url + "/")
        count = browser.find_element(By.ID, "dead-count")
        before = int(count.text)
        browser.execute_script("window.__sameDocument = true;")
        dead_letter(ch, settings, BAD_COUNT)
        WebDriverWait(browser, 30).until(
            lambda b: b.find_element(By.ID, "dead-count").text == str(before + 1)
        )
        assert browser.execute_script("return window.__sameDocument === true;")  # no reload
        assert browser.find_element(By.ID, "live-status").text == "(live)"
        row = browser.find_element(By.CSS_SELECTOR, f'tr[data-queue="{dlq}"]')
        assert row.find_elements(By.TAG_NAME, "td")[1].text == str(before + 1)

        # 6. keep screenshots: desktop, then a phone's width.
        browser.refresh()
        WebDriverWait(browser, 10).until(
            lambda b: b.execute_script(
                "return [...document.images].every(i => i.complete && i.naturalWidth > 0);"
            )
        )
        shot = ARTIFACTS / "console-overview.png"
        assert browser.save_screenshot(str(shot))
        assert shot.stat().st_size > 5000


def test_phone_width_and_a_partners_script_shown_as_text(
    gateway_env: dict[str, str], console_url: str, browser: WebDriver
) -> None:
    settings = settings_for(gateway_env)
    names = Names(settings.name_prefix)
    dlq = names.dead_letter(names.inbound("apcs"))
    attack = b'<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
    hostile = BAD_COUNT.replace(b"MAN-DZALG-2611-002", attack)
    assert hostile != BAD_COUNT
    with channel_for(settings) as ch:
        dead_letter(ch, settings, hostile)
        assert wait_depth(ch, dlq, 1) == 1
    browser.get(console_url + "/login")
    sign_in(browser, "carol", PASSWORD)
    browser.find_element(By.CSS_SELECTOR, 'tr.group[data-group="EDIFACT_SYNTAX/decode"] a').click()
    browser.find_element(By.CSS_SELECTOR, "tr.letter a").click()
    raw = browser.find_element(By.CSS_SELECTOR, "pre.raw").text
    assert attack.decode() in raw  # shown as text: the browser did not read it as markup
    assert browser.execute_script("return window.__xss === undefined;")
    scripts = browser.execute_script("return [...document.scripts].map(s => s.src);")
    assert len(scripts) == 1 and scripts[0].endswith("/static/live.js")
    letter_url = browser.current_url
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "console-dead-letter.png"))

    # A phone: 390 CSS pixels wide. No page scrolls sideways (tables scroll inside themselves).
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE_WIDTH, "height": 844, "deviceScaleFactor": 2, "mobile": True},
    )
    for path in ("/", "/dlq", "/partners/apcs", "/audit", letter_url.removeprefix(console_url),
                 "/track?ref=MAN-DZALG-2611-002"):  # fmt: skip
        browser.get(console_url + path)
        browser.find_element(By.TAG_NAME, "main")
        width = browser.execute_script("return document.documentElement.scrollWidth;")
        assert width <= PHONE_WIDTH, f"{path} is {width} px wide"
    browser.get(console_url + "/")
    WebDriverWait(browser, 10).until(
        lambda b: b.execute_script(
            "return [...document.images].every(i => i.complete && i.naturalWidth > 0);"
        )
    )
    assert browser.save_screenshot(str(ARTIFACTS / "console-phone.png"))


def test_a_call_and_a_sailing_keep_current_fit_a_phone_and_show_partner_text_as_text(
    gateway_env: dict[str, str], console_url: str, browser: WebDriver
) -> None:
    settings = settings_for(gateway_env)
    fill(settings, *CALL_DOCUMENTS)  # the call of the samples, nothing discharged yet
    file_sailing(settings)
    journal = SqliteJournal(settings.journal_path)
    try:  # a second call whose vessel name is a partner's attempt at markup
        hostile = vessel_call("CALL-XSS", CallKey("9074729", "V61", "DZORN"))
        hostile.conveyance.name = "<script>window.__xss = 1</script><img src=x onerror=x>"
        calls.file(journal, CallPolicy(), hostile, "in-xss")
    finally:
        journal.close()
    browser.get(console_url + "/login")
    sign_in(browser, "carol", PASSWORD)

    # 1. From the navigation to the call: its discharge progress, then the terminal's report
    # arrives while the page is open and the figures follow without a reload.
    browser.find_element(By.LINK_TEXT, "Ship calls").click()
    browser.find_element(By.LINK_TEXT, "9454436/0MA1RN1MA/DZALG").click()
    assert shows(browser, "CMA CGM TAGE")
    discharged = browser.find_element(By.CSS_SELECTOR, '[data-live="discharged"]')
    assert discharged.text == "0"
    assert not browser.find_element(By.ID, "live-changed").is_displayed()
    browser.execute_script("window.__sameDocument = true;")
    fill(settings, DISCHARGE)
    WebDriverWait(browser, 30).until(
        lambda b: b.find_element(By.CSS_SELECTOR, '[data-live="discharged"]').text == "2"
    )
    assert browser.find_element(By.CSS_SELECTOR, '[data-live="short_landed"]').text == "1"
    assert browser.find_element(By.CSS_SELECTOR, '[data-live="state"]').text == "final"
    WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "live-changed").is_displayed())
    assert browser.execute_script("return window.__sameDocument === true;")  # no reload
    assert browser.execute_script("return document.querySelector('progress').value;") == 2
    browser.refresh()  # the lists follow on a reload: the short-landed container, its story
    short = browser.find_element(By.CSS_SELECTOR, 'tr.discrepancy[data-kind="SHORT_LANDED"] a')
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "console-call.png"))
    short.click()
    assert shows(browser, "Track · CMAU3000020")

    # 2. A partner's markup in a vessel name is text.
    browser.get(console_url + "/calls/9074729/V61")
    assert "<script>window.__xss = 1</script>" in browser.find_element(By.TAG_NAME, "h1").text
    assert browser.execute_script("return window.__xss === undefined;")

    # 3. The sailing's list: exceptions first, the operator sees the names.
    browser.get(console_url + "/")
    browser.find_element(By.LINK_TEXT, "Sailings").click()
    browser.find_element(By.LINK_TEXT, "TARIQ IBN ZIYAD").click()
    groups = [
        s.get_attribute("id") for s in browser.find_elements(By.CSS_SELECTOR, "section.vehicles")
    ]
    assert groups == ["group-to_see", "group-missing", "group-ready"]
    assert "PLATE_MISMATCH" in browser.find_element(By.ID, "group-to_see").text
    assert "BENAISSA KARIM" in browser.find_element(By.ID, "group-ready").text
    assert browser.save_screenshot(str(ARTIFACTS / "console-sailing.png"))

    # 4. A phone: 390 CSS pixels wide, no page scrolls sideways.
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE_WIDTH, "height": 844, "deviceScaleFactor": 2, "mobile": True},
    )
    for path, shot in (
        ("/calls", ""),
        ("/calls/9454436/0MA1RN1MA/DZALG", "console-call-phone.png"),
        ("/calls/9074729/V61", ""),
        ("/travellers/sailings", ""),
        ("/travellers/sailings/TARIQ%20IBN%20ZIYAD/2026-07-14", "console-sailing-phone.png"),
    ):
        browser.get(console_url + path)
        browser.find_element(By.TAG_NAME, "main")
        width = browser.execute_script("return document.documentElement.scrollWidth;")
        assert width <= PHONE_WIDTH, f"{path} is {width} px wide"
        if shot:
            assert browser.save_screenshot(str(ARTIFACTS / shot))
