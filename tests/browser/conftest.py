"""Headless Chromium on the fixture book served over HTTP, for both tab libraries.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium
chromium-driver``); without them the tests fail and say so.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "render"))
from chromium import chromium, missing, serve  # noqa: E402  (tests/browser/chromium.py)
from renderlib import ARTIFACTS, copy_book, make_merged, sphinx_build  # noqa: E402

PAGES = ["chapters/tabs", "chapters/second"]


@pytest.fixture(scope="session", params=["sphinx-design", "sphinx-tabs"])
def site(request, tmp_path_factory):
    """(base URL, tab library) of a freshly built fixture book served on 127.0.0.1."""
    root = copy_book("book", tmp_path_factory.mktemp(request.param) / "book", tabs=request.param)
    for page in PAGES:
        make_merged(root, page)
    result = sphinx_build(root)
    if result.returncode != 0:
        pytest.fail(f"strict build failed:\n{result.stderr}")
    with serve(root / "_build" / "html") as url:
        yield url, request.param


@pytest.fixture(scope="session")
def driver():
    if missing():
        pytest.fail(f"browser tests need {missing()}: apt-get install -y chromium chromium-driver")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium(offline=False) as browser:
        yield browser


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
    if missing():
        pytest.fail(f"browser tests need {missing()}: apt-get install -y chromium chromium-driver")
    with chromium(offline=True) as browser:
        yield browser
