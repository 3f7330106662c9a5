"""Headless Chromium on the fixture book served over HTTP, for both tab libraries.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium
chromium-driver``); without them the tests fail and say so.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "render"))
from renderlib import ARTIFACTS, copy_book, make_merged, sphinx_build  # noqa: E402

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PAGES = ["chapters/tabs", "chapters/second"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session", params=["sphinx-design", "sphinx-tabs"])
def site(request, tmp_path_factory):
    """(base URL, tab library) of a freshly built fixture book served on 127.0.0.1."""
    root = copy_book("book", tmp_path_factory.mktemp(request.param) / "book", tabs=request.param)
    for page in PAGES:
        make_merged(root, page)
    result = sphinx_build(root)
    if result.returncode != 0:
        pytest.fail(f"strict build failed:\n{result.stderr}")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
         "--directory", str(root / "_build" / "html")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        server.kill()
        pytest.fail(f"http.server did not start on port {port}")
    yield f"http://127.0.0.1:{port}", request.param
    server.terminate()
    server.wait()


@pytest.fixture(scope="session")
def driver():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        pytest.fail(f"browser tests need {missing}: apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="tabbook-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", f"--user-data-dir={profile}", "--window-size=1280,1600"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield browser
    browser.quit()
    shutil.rmtree(profile, ignore_errors=True)


# The offline site (tabbook.sphinx.offline/console/archives) over a fixture book with math.
MATH = ("\n\nInline math $\\mathbf{W}_{xh} \\mathbf{x}_t$ and a display:\n\n"
        "$$\\mathbf{h}_t = \\phi(\\mathbf{W}_{xh} \\mathbf{x}_t + \\mathbf{b}_h).$$\n")
OFFLINE = {"tabbook_offline": {"mathjax": "django-static-mathjax", "thebe": False},
           "tabbook_archives": {"site": True, "notebooks": True, "name": "fixture"}}


def build_math_book(dest: Path, config: dict) -> Path:
    """The fixture book with math on its intro page and ``config`` added to ``sphinx.config``."""
    import yaml

    root = copy_book("book", dest)
    cfg = yaml.safe_load((root / "_config.yml").read_text())
    cfg["sphinx"]["config"].update(config)
    cfg.setdefault("parse", {})["myst_enable_extensions"] = ["dollarmath"]
    (root / "_config.yml").write_text(yaml.safe_dump(cfg))
    with open(root / "intro.md", "a", encoding="utf-8") as f:
        f.write(MATH)
        if "tabbook_archives" in config:
            f.write("\nDownloads: {archive}`site`, {archive}`JAX notebooks <jax>`.\n")
    for page in PAGES:
        make_merged(root, page)
    result = sphinx_build(root)
    if result.returncode != 0:
        pytest.fail(f"strict build failed:\n{result.stderr}")
    return root / "_build" / "html"


@pytest.fixture(scope="session", params=["offline", "default"])
def math_site(request, tmp_path_factory):
    """(HTML folder, variant) of the fixture book with math, built with the offline settings or
    with none (Sphinx's MathJax from its CDN)."""
    config = OFFLINE if request.param == "offline" else {}
    return build_math_book(tmp_path_factory.mktemp(f"math-{request.param}") / "book", config), \
        request.param


@pytest.fixture(scope="session")
def offline_browser():
    """Headless Chromium that reaches only 127.0.0.1 and records its console."""
    from chromium import chromium, missing

    if missing():
        pytest.fail(f"browser tests need {missing()}: apt-get install -y chromium chromium-driver")
    with chromium(offline=True) as browser:
        yield browser
