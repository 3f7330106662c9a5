"""Rendered HTML of the fixture book (hand-made merged notebooks, strict build)."""
from __future__ import annotations

import json
import re

import nbformat
import pytest
from tabbook.config import load_config
from tabbook.layout import Layout
from renderlib import PAGES, copy_book, make_merged, sphinx_build, soup

LABELS = {"pytorch": "PyTorch", "tensorflow": "TensorFlow", "mxnet": "MXNet", "jax": "JAX"}
TABS_PAGE = ["pytorch", "tensorflow", "mxnet", "jax"]


def design_tabsets(page):
    """[(framework, label text, content element)] per sphinx-design tab set, in page order."""
    sets = []
    for tabset in page.select("div.sd-tab-set"):
        labels = tabset.find_all("label", class_="sd-tab-label", recursive=False)
        contents = tabset.find_all("div", class_="sd-tab-content", recursive=False)
        sets.append([(lab["data-sync-id"], lab.get_text(strip=True), c) for lab, c in zip(labels, contents)])
    return sets


def tabs_tabsets(page):
    sets = []
    for tabset in page.select("div.sphinx-tabs"):
        buttons = tabset.select("div[role=tablist] > button")
        panels = tabset.find_all("div", class_="sphinx-tabs-panel", recursive=False)
        sets.append([(b["name"], b.get_text(strip=True), p) for b, p in zip(buttons, panels)])
    return sets


def stream_text(element) -> str:
    return " ".join(o.get_text() for o in element.select("div.output.stream"))


@pytest.mark.parametrize("backend", ["design", "tabs"])
def test_tab_sets_labels_outputs_and_fallback(backend, design_book, tabs_book):
    root = (design_book if backend == "design" else tabs_book)[0]
    sets = (design_tabsets if backend == "design" else tabs_tabsets)(soup(root, "chapters/tabs"))
    assert len(sets) == 3
    for tabset in sets:
        assert [(fw, label) for fw, label, _ in tabset] == [(fw, LABELS[fw]) for fw in TABS_PAGE]
    # step 1: each framework's tab shows its own output; JAX has none, so the fallback panel
    for fw, _, content in sets[0][:3]:
        assert stream_text(content).strip() == f"framework: {fw}"
    jax = sets[0][3][2]
    assert jax.select("p.tabbook-missing")[0].get_text() == "No JAX code for this step."
    assert not jax.select("div.cell")
    # step 3: only TensorFlow and JAX have code; TensorFlow's is an error shown as a traceback
    missing = {fw: c.select_one("p.tabbook-missing") for fw, _, c in sets[2]}
    assert {fw for fw, m in missing.items() if m} == {"pytorch", "mxnet"}
    assert missing["pytorch"].get_text() == "No PyTorch code for this step."
    tf = dict((fw, c) for fw, _, c in sets[2])["tensorflow"]
    assert "ValueError: tensorflow cell fails on purpose" in tf.select_one("div.output.traceback").get_text()
    assert stream_text(dict((fw, c) for fw, _, c in sets[2])["jax"]).strip() == "framework: jax"


def test_second_page_tabs_in_page_order(design_book):
    (tabset,) = design_tabsets(soup(design_book[0], "chapters/second"))
    assert [label for _, label, _ in tabset] == ["JAX", "PyTorch"]
    for fw, _, content in tabset:
        assert stream_text(content).strip() == f"second page: {fw}"


def test_shared_cell_once_outside_tabs(design_book):
    page = soup(design_book[0], "chapters/tabs")
    shared = [o for o in page.select("div.output.stream") if "shared 3.14" in o.get_text()]
    assert len(shared) == 1
    assert shared[0].find_parent("div", class_="sd-tab-set") is None


def test_fw_block_prose_only_in_its_tab(design_book):
    page = soup(design_book[0], "chapters/tabs")
    hits = [p for p in page.find_all("p") if "MXNet-only prose" in p.get_text()]
    assert len(hits) == 1
    content = hits[0].find_parent("div", class_="sd-tab-content")
    label = content.find_previous_sibling("label")
    assert label["data-sync-id"] == "mxnet"
    assert content.select("div.highlight-python pre")[-1].get_text().strip() == "x = 1"


def test_plots_in_tabs(design_book):
    root = design_book[0]
    for fw, _, content in design_tabsets(soup(root, "chapters/tabs"))[1]:
        (img,) = content.select("div.cell_output img")
        data = (root / "_build" / "html" / "chapters" / img["src"]).resolve().read_bytes()
        if fw == "mxnet":  # the fixture's MXNet plot is SVG, the others PNG
            assert img["src"].endswith(".svg") and b"<svg" in data
        else:
            assert img["src"].endswith(".png") and data.startswith(b"\x89PNG")


def header_links(page):
    return {a.get_text(strip=True): a["href"] for a in page.select(".article-header-buttons a")}


def test_header_buttons_per_framework(design_book):
    root = design_book[0]
    links = header_links(soup(root, "chapters/tabs"))
    for fw in TABS_PAGE:
        assert links[f"Colab ({LABELS[fw]})"] == (
            "https://colab.research.google.com/github/example-org/rnn-book/blob/notebooks/"
            f"{fw}/chapters/tabs.ipynb")
        href = links[f".ipynb ({LABELS[fw]})"]
        assert href == f"../_notebooks/{fw}/chapters/tabs.ipynb"
        nb = nbformat.read(root / "_build" / "html" / "chapters" / href, as_version=4)
        code = "\n".join(c.source for c in nb.cells)
        assert "FRAMEWORK" in code and "tabbook" not in json.dumps(nb.metadata)
    assert links["Binder (PyTorch)"] == (
        "https://mybinder.org/v2/gh/example-org/rnn-book/notebooks?urlpath=lab/tree/"
        "pytorch/chapters/tabs.ipynb")
    binder = [t for t in links if t.startswith("Binder")]
    assert binder == ["Binder (PyTorch)"]
    second = header_links(soup(root, "chapters/second"))
    assert second["Binder (JAX)"].endswith("urlpath=lab/tree/jax/chapters/second.ipynb")
    assert [t for t in second if t.startswith("Colab")] == ["Colab (JAX)", "Colab (PyTorch)"]


@pytest.mark.parametrize("docname", ["intro", *PAGES])
def test_no_button_points_at_md_or_merged_notebook(design_book, docname):
    links = header_links(soup(design_book[0], docname))
    for href in links.values():
        assert not re.search(r"\.md$|_sources/.*\.ipynb$|jupyter_execute|/merged/", href), href
    if docname == "intro":  # a page without code: no launch or notebook buttons
        assert not [t for t in links if t.startswith(("Colab", "Binder", ".ipynb"))]


def test_strict_build_is_warning_free(design_book, tabs_book):
    for _, result in (design_book, tabs_book):
        assert "WARNING" not in result.stderr and "ERROR" not in result.stderr, result.stderr


def test_unexecuted_page_fails_with_clear_error(tmp_path):
    root = copy_book("book", tmp_path / "book")
    make_merged(root, "chapters/tabs")  # chapters/second never executed
    result = sphinx_build(root)
    assert result.returncode != 0
    assert "page chapters/second" in result.stderr and "has not been executed" in result.stderr
    assert "run `python -m tabbook html` from the book's root" in result.stderr  # the default hint


def test_stale_merged_notebook_fails(tmp_path):
    root = copy_book("book", tmp_path / "book")
    for page in PAGES:
        make_merged(root, page)
    page = root / "chapters" / "second.md"
    page.write_text(page.read_text() + "\nEdited after execution.\n")
    result = sphinx_build(root)
    assert result.returncode != 0
    assert "page chapters/second" in result.stderr and "older version" in result.stderr


def test_fw_block_unknown_framework_reported_at_its_line(tmp_path):
    """The engine refuses the page (before anything is merged), at the fw-block's page line."""
    root = copy_book("book", tmp_path / "book")
    page = root / "chapters" / "second.md"
    page.write_text(page.read_text() + "\n```{fw-block} tensorflow\nNot on this page.\n```\n")
    line = page.read_text().splitlines().index("```{fw-block} tensorflow") + 1
    with pytest.raises(AssertionError, match=rf"chapters/second\.md:{line}: fw-block names unknown "
                                             r"framework 'tensorflow' \(known here: jax, pytorch\)"):
        make_merged(root, "chapters/second")
    make_merged(root, "chapters/tabs")
    result = sphinx_build(root)
    assert result.returncode != 0
    assert "page chapters/second" in result.stderr and "has not been executed" in result.stderr


def test_reexecuted_page_is_reread(tmp_path):
    """New outputs (same source) reach the HTML without -E: the merged notebook is a dependency."""
    root = copy_book("book", tmp_path / "book")
    for page in PAGES:
        make_merged(root, page)
    assert sphinx_build(root).returncode == 0
    merged = Layout.of(load_config(root)).merged("chapters/second")
    nb = nbformat.read(merged, as_version=4)
    nb.cells[-1].outputs[0].text = "second page: jax, re-executed\n"
    nbformat.write(nb, merged)
    assert sphinx_build(root, fresh=False).returncode == 0
    assert "second page: jax, re-executed" in stream_text(soup(root, "chapters/second"))



def test_an_incremental_build_publishes_re_exported_notebooks(tmp_path_factory):
    """The engine exports the notebooks on every build (a new commit in the install cell); Sphinx
    rewrites only changed pages, yet the site must serve the new notebooks of every page."""
    root = copy_book("book", tmp_path_factory.mktemp("reexport") / "book")
    for page in PAGES:
        make_merged(root, page)
    assert sphinx_build(root).returncode == 0
    exported = Layout.of(load_config(root)).notebook("jax", "chapters/second")
    nb = nbformat.read(exported, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("exported again"))
    nbformat.write(nb, exported)
    result = sphinx_build(root, fresh=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert "0 changed" in result.stdout or "no targets are out of date" in result.stdout, result.stdout
    published = root / "_build" / "html" / "_notebooks" / "jax" / "chapters" / "second.ipynb"
    assert published.read_bytes() == exported.read_bytes()
