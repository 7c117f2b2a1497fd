"""The README's screenshot of the web board: headless Chromium plays a few
connect-four moves against an opponent, asks for the agent's view of the
position and saves the page.

  python results/scripts/web_screenshot.py --opponent=uct:400 \
      --moves=4,4,3 --out=results/web/connect_four_analysis.png [--checkpoint=PATH]

Needs chromium and chromedriver (apt-get install chromium chromium-driver).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--opponent", default="uct:400")
  parser.add_argument("--checkpoint", default=None)
  parser.add_argument("--env", default="connect_four")
  parser.add_argument("--moves", default="4,4,3")
  parser.add_argument("--out", required=True)
  args = parser.parse_args()
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  command = [sys.executable, os.path.join(ROOT, "launch", "serve.py"), f"--port={port}"]
  if args.checkpoint:
    command.append(f"--checkpoint={args.checkpoint}")
  server = subprocess.Popen(command, cwd=ROOT)
  url = f"http://127.0.0.1:{port}"
  try:
    for _ in range(600):
      try:
        urllib.request.urlopen(url + "/api/config", timeout=2)
        break
      except OSError:
        time.sleep(0.5)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import Select, WebDriverWait
    options = Options()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1000,760", "--hide-scrollbars"):
      options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
      driver.get(url)
      status = driver.find_element("id", "status")

      def wait_for_me():
        WebDriverWait(driver, 600).until(
            lambda d: status.get_attribute("data-state") in ("you", "over"))

      wait_for_me()
      Select(driver.find_element("id", "game-select")).select_by_value(args.env)
      box = driver.find_element("id", "opponent")
      box.clear()
      box.send_keys(args.opponent)
      driver.find_element("id", "new-game").click()
      WebDriverWait(driver, 60).until(
          lambda d: d.find_element("id", "board").get_attribute("data-env") == args.env)
      wait_for_me()
      for move in args.moves.split(","):
        count = len(driver.find_elements("css selector", "#moves li"))
        text = driver.find_element("id", "move-text")
        text.clear()
        text.send_keys(move)
        driver.find_element("id", "play-move").click()
        WebDriverWait(driver, 600).until(
            lambda d, c=count: len(d.find_elements("css selector", "#moves li")) >= c + 2)
        wait_for_me()
      driver.find_element("id", "hint").click()
      WebDriverWait(driver, 600).until(
          lambda d: d.find_elements("css selector", "#board svg .share")
          and "your move" not in d.find_element("id", "analysis").text.lower())
      driver.execute_script("window.scrollTo(0, 0)")
      time.sleep(0.5)
      driver.save_screenshot(args.out)
      print(f"{args.out}: {driver.find_element('id', 'analysis').text.splitlines()[0]}")
    finally:
      driver.quit()
  finally:
    server.terminate()
    server.wait(timeout=30)


if __name__ == "__main__":
  main()
