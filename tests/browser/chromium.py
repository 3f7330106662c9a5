"""Headless Chromium with no network but 127.0.0.1, its console log, and a local HTTP server.

Shared by the browser tests over fixture books (tests/browser) and over the built book
(tests/book). Needs Debian's ``chromium`` and ``chromium-driver``.
"""
from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,1600")
# No host but 127.0.0.1: names do not resolve, and anything else (an address too) goes to a
# proxy on a closed port; loopback bypasses proxies. A page that needs a CDN fails to load it
# and logs a SEVERE net:: error.
NO_NETWORK = ("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
              "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1")
# Where MathJax 3 leaves its typeset output, and how much math a page holds that still waits.
MATH_JS = """
return {typeset: document.querySelectorAll('mjx-container').length,
        raw: Array.from(document.querySelectorAll('span.math, div.math'))
                  .filter((el) => !el.querySelector('mjx-container')).length};
"""


def missing() -> list[str]:
    return [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]


@contextlib.contextmanager
def chromium(offline: bool = True):
    """A selenium driver of headless Chromium that records the console (``get_log('browser')``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="tabbook-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, *(NO_NETWORK if offline else ()), f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(directory: Path):
    """``http://127.0.0.1:<port>`` serving ``directory`` while the block runs."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
         "--directory", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"http.server did not start on port {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait()


def severe(entries: list[dict]) -> list[str]:
    """The messages of the SEVERE entries of a ``get_log('browser')`` list."""
    return [e["message"] for e in entries if e.get("level") == "SEVERE"]


MATHJAX_DONE_JS = """
const done = arguments[arguments.length - 1];
if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
  MathJax.startup.promise.then(() => done(true), () => done(false));
} else {
  done(false);
}
"""


def load(driver, url: str, timeout: float = 15.0) -> dict:
    """Open ``url``, wait for the page and for MathJax's first typeset; the MATH_JS counts."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.set_script_timeout(timeout)
    driver.get(url)
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.readyState") == "complete")
    driver.execute_async_script(MATHJAX_DONE_JS)  # False where MathJax did not load
    return driver.execute_script(MATH_JS)
