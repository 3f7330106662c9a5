"""The fixture book ``realbook`` executed by the engine in two real kernels, then rendered strictly.

Needs the ``d2l-pytorch`` and ``d2l-jax`` kernels (``make envs``); a missing kernel is a failure.
"""
from __future__ import annotations

import importlib.metadata
import subprocess

import pytest
from tabbook.config import load_config
from tabbook.layout import Layout
from renderlib import BIN, REPO, copy_book, soup, sphinx_build
from test_render import design_tabsets, stream_text


def installed_version(env: str, dist: str) -> str:
    """The version of ``dist`` installed in the framework virtualenv ``.venv/<env>``."""
    sites = [str(p) for p in (REPO / ".venv" / env).glob("lib/python*/site-packages")]
    found = list(importlib.metadata.distributions(name=dist, path=sites))
    if not found:
        pytest.fail(f"{dist} is not installed in .venv/{env} (run `make envs`)")
    return found[0].version


@pytest.fixture(scope="module")
def real_book(tmp_path_factory):
    root = copy_book("realbook", tmp_path_factory.mktemp("real") / "book")
    run = subprocess.run([BIN / "python", "-m", "tabbook", "execute"], cwd=root, text=True,
                         capture_output=True, env={"PATH": f"{BIN}:/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    if run.returncode != 0:
        pytest.fail(f"`python -m tabbook execute` failed:\n{run.stderr}")
    result = sphinx_build(root)
    if result.returncode != 0:
        pytest.fail(f"strict build failed:\n{result.stderr}")
    return root


def test_each_tab_shows_its_own_kernels_output(real_book):
    page = soup(real_book, "chapters/kernels")
    versions_tab, plots_tab = design_tabsets(page)
    expected = {"pytorch": f"torch {installed_version('pytorch', 'torch')}",
                "jax": f"jax {installed_version('jax', 'jax')}"}
    assert [(fw, label) for fw, label, _ in versions_tab] == [("pytorch", "PyTorch"), ("jax", "JAX")]
    for fw, _, content in versions_tab:
        assert stream_text(content).strip() == expected[fw]
    # the plot cell is shared source with a tab.selected() branch: one image per kernel
    for fw, _, content in plots_tab:
        (img,) = content.select("div.cell_output img")
        assert (real_book / "_build" / "html" / "chapters" / img["src"]).resolve().read_bytes()[:4] == b"\x89PNG"
        assert ("torch" in content.get_text()) == (fw == "pytorch")
    shared = [o for o in page.select("div.output.stream") if "shared cell, python 3" in o.get_text()]
    assert len(shared) == 1 and shared[0].find_parent("div", class_="sd-tab-set") is None


def test_download_buttons_serve_the_per_framework_notebooks(real_book):
    links = {a.get_text(strip=True): a["href"]
             for a in soup(real_book, "chapters/kernels").select(".article-header-buttons a")}
    for fw, label in (("pytorch", "PyTorch"), ("jax", "JAX")):
        served = (real_book / "_build" / "html" / "chapters" / links[f".ipynb ({label})"]).resolve()
        published = Layout.of(load_config(real_book)).notebook(fw, "chapters/kernels")
        assert served.read_bytes() == published.read_bytes()
