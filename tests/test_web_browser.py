"""The web board in a real browser: headless Chromium (Debian's `chromium`
and `chromedriver`, installed by .ci/run) loads the page served by
launch/serve.py and plays a whole tic-tac-toe game against minimax by
clicking cells. Missing browser = failure, not a skip."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import ROOT

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
CHROMEDRIVER = shutil.which("chromedriver")


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
  port = _free_port()
  env = dict(os.environ, JAX_NUM_CPU_DEVICES="1", PYTHONUNBUFFERED="1")
  proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "launch", "serve.py"),
                           f"--port={port}"], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  url = f"http://127.0.0.1:{port}"
  deadline = time.time() + 120
  while True:
    try:
      urllib.request.urlopen(url + "/api/config", timeout=2)
      break
    except OSError:
      if proc.poll() is not None or time.time() > deadline:
        proc.kill()
        raise AssertionError(f"serve.py did not start:\n{proc.stdout.read()}") from None
      time.sleep(0.5)
  yield url
  proc.terminate()
  proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
  if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.fail("the browser test needs chromium and chromedriver on PATH "
                "(Debian: apt-get install chromium chromium-driver; .ci/run does it)")
  from selenium import webdriver
  from selenium.webdriver.chrome.options import Options
  from selenium.webdriver.chrome.service import Service
  options = Options()
  options.binary_location = CHROMIUM
  for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                   "--disable-gpu", "--window-size=1200,900"):
    options.add_argument(argument)
  options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
  driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
  driver.set_page_load_timeout(60)
  yield driver
  driver.quit()


def _no_page_error(driver):
  error = driver.find_element("id", "error")
  assert not error.is_displayed(), f"the page shows an error: {error.text}"
  # Refused moves are 4xx answers the page expects; script errors are not.
  severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
            and not (e["source"] == "network" and " 400 " in e["message"])]
  assert not severe, f"browser console errors: {severe}"


def _wait_state(driver, states, timeout=120):
  from selenium.webdriver.support.ui import WebDriverWait
  status = driver.find_element("id", "status")
  WebDriverWait(driver, timeout, poll_frequency=0.1).until(
      lambda d: status.get_attribute("data-state") in states)
  return status.get_attribute("data-state")


def test_a_whole_tic_tac_toe_game_against_minimax_by_clicking(server, browser):
  from selenium.webdriver.support.ui import Select, WebDriverWait
  browser.get(server)
  _wait_state(browser, {"you"})  # the page starts a game of its own on load
  first_game = browser.execute_script("return sessionStorage.getItem('zerogo-game')")
  Select(browser.find_element("id", "game-select")).select_by_value("tic_tac_toe")
  opponent = browser.find_element("id", "opponent")
  opponent.clear()
  opponent.send_keys("minimax")
  Select(browser.find_element("id", "colour")).select_by_value("you")
  browser.find_element("id", "new-game").click()
  WebDriverWait(browser, 60).until(lambda d: d.execute_script(
      "return sessionStorage.getItem('zerogo-game')") != first_game)
  assert _wait_state(browser, {"you"}) == "you"
  assert "minimax" not in browser.find_element("id", "status").text  # our turn, not its
  assert len(browser.find_elements("css selector", "#board svg .cell")) == 9

  clicks = 0
  while _wait_state(browser, {"you", "over"}) == "you":
    cells = browser.find_elements("css selector", "#board svg .cell")
    moves_before = len(browser.find_elements("css selector", "#moves li"))
    cells[-1].click()  # the last free cell: a weak line, minimax punishes it
    clicks += 1
    WebDriverWait(browser, 120, poll_frequency=0.1).until(
        lambda d, before=moves_before: len(d.find_elements("css selector", "#moves li")) > before)
    if clicks == 1:  # the agent answered: its thinking is on the page and the board
      _wait_state(browser, {"you", "over"})
      assert browser.find_element("id", "top-moves").is_displayed()
      assert browser.find_elements("css selector", "#board svg .share")
      # An occupied cell typed in is refused in the page, in one sentence.
      taken = browser.find_elements("css selector", "#moves li")[0].text
      box = browser.find_element("id", "move-text")
      box.clear()
      box.send_keys(taken)
      browser.find_element("id", "play-move").click()
      WebDriverWait(browser, 30).until(
          lambda d: "not legal" in d.find_element("id", "message").text)
      _no_page_error(browser)
  status = browser.find_element("id", "status").text
  assert status in ("Draw.", "The agent wins."), status
  assert 3 <= clicks <= 5
  _no_page_error(browser)

  # Undo takes the last move back and it is our turn again.
  browser.find_element("id", "undo").click()
  assert _wait_state(browser, {"you"}) == "you"
  _no_page_error(browser)
