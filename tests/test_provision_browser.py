"""The setup page in a real browser: headless Chromium fills the form on the virtual board.

A rendered project (ESP32, Wi-Fi) runs `python -m tools sim` on an empty flash; Chromium, driven
by Selenium through Debian's chromedriver, loads the printed URL, types a network and a password,
takes a screenshot and submits. config.json must then hold them and the page must say "Saved".

The screenshot goes to tmp and is only checked to be a sane PNG, so the test leaves the repository
clean; docs/img/provisioning.png (shown by docs/provisioning.md) is that same picture, written
there by running this test with PROVISIONING_SCREENSHOT=docs/img/provisioning.png.

Needs chromium and chromedriver (scripts/install-browser, run by the README set-up, installs them):
without them the test fails, it does not skip.
"""
import json
import os
import shutil
import struct
import time

import pytest

from conftest import ROOT, render, sim_in_background

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
PASSWORD = "s3cret-pw"


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def setup_page(tmp_path):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail("chromium and chromedriver are missing: run `sh scripts/install-browser`")
    project = render(tmp_path / "p", boards=["esp32"])
    flash = tmp_path / "flash"
    sim = sim_in_background(project, "--flash", str(flash))
    try:
        line = sim.wait_for("setup page: ", 60)
        if not line:
            pytest.fail("the sim printed no setup page URL:\n" + sim.output)
        yield line.split(": ", 1)[1].strip(), flash
    finally:
        sim.kill()


def test_a_browser_fills_the_setup_page_and_the_board_saves_it(setup_page, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, flash = setup_page
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--force-device-scale-factor=1"):
        options.add_argument(arg)
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        browser.set_window_size(420, 640)
        browser.get(url)
        assert browser.find_element(By.TAG_NAME, "h1").text == "Wi-Fi setup"
        assert "Connect my_micropython_project-" in browser.find_element(By.TAG_NAME, "p").text
        options = [o.get_attribute("value") for o in browser.find_elements(By.CSS_SELECTOR, "#nets option")]
        assert options == ["home", 'café <b>&"quotes"', "neighbours"]  # escaped in the HTML, intact here
        browser.find_element(By.ID, "ssid").send_keys("home")
        browser.find_element(By.ID, "password").send_keys(PASSWORD)
        shot = tmp_path / "provisioning.png"
        assert browser.save_screenshot(str(shot))
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(browser, 10).until(lambda b: b.title == "Saved")  # the title never goes stale mid-load
        assert browser.find_element(By.TAG_NAME, "h1").text == "Saved"
        assert "joins home" in browser.find_element(By.TAG_NAME, "p").text
    finally:
        browser.quit()
    deadline = time.monotonic() + 10
    while not (flash / "config.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    saved = json.loads((flash / "config.json").read_text())
    assert (saved["wifi_ssid"], saved["wifi_password"]) == ("home", PASSWORD)
    width, height = png_size(shot)
    assert 300 <= width <= 1000 and 300 <= height <= 1500, f"a {width}x{height} screenshot"
    assert shot.stat().st_size > 5000, "the screenshot is blank"
    if os.environ.get("PROVISIONING_SCREENSHOT"):
        shutil.copyfile(shot, ROOT / os.environ["PROVISIONING_SCREENSHOT"])
