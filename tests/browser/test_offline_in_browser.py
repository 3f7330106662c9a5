"""The offline components in Chromium that reaches only 127.0.0.1, over a fixture book with math.

Built with ``tabbook_offline``/``tabbook_archives`` ("offline"), the book typesets its math with
the network off and logs no console error on any page; built without them ("default"), the same
page shows raw TeX, which shows that the network is really off for these tests. Either way no
inline script is written twice (the Sphinx < 8.2.2 bug behind "Identifier 'THEBE_JS_URL' has
already been declared"), and the ``archive`` role refuses an archive that is not built.
"""
from __future__ import annotations

import re
import zipfile
from collections import Counter

import yaml
from bs4 import BeautifulSoup
from chromium import load, severe
from renderlib import ARTIFACTS, copy_book, make_merged, sphinx_build

PAGES = ["intro.html", "chapters/tabs.html", "chapters/second.html", "genindex.html", "search.html"]


def visit(driver, html, page):
    driver.get_log("browser")  # forget earlier messages
    counts = load(driver, (html / page).as_uri())
    return counts, severe(driver.get_log("browser"))


def test_math_is_typeset_with_the_network_off_only_from_the_sites_mathjax(offline_browser, math_site):
    html, variant = math_site
    counts, errors = visit(offline_browser, html, "intro.html")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    offline_browser.save_screenshot(str(ARTIFACTS / f"math-{variant}.png"))
    if variant == "offline":
        assert counts == {"typeset": 2, "raw": 0}, counts
        assert not errors, errors
    else:  # Sphinx's default: MathJax from a CDN, which cannot be reached
        assert counts == {"typeset": 0, "raw": 2}, counts
        assert any("mathjax" in e.lower() for e in errors), errors


def test_no_console_error_on_any_page(offline_browser, math_site):
    html, variant = math_site
    if variant != "offline":
        return
    for page in PAGES:
        counts, errors = visit(offline_browser, html, page)
        assert not errors, f"{page}: {errors}"


def test_no_inline_script_is_written_twice(math_site):
    html, _ = math_site
    for page in PAGES:
        soup = BeautifulSoup((html / page).read_text(encoding="utf-8"), "html.parser")
        bodies = Counter(s.get_text() for s in soup.find_all("script", src=False)
                         if s.get("type") in (None, "text/javascript") and s.get_text().strip())
        assert not [b for b, n in bodies.items() if n > 1], f"{page}: {bodies.most_common(2)}"


def test_archives_hold_the_site_and_notebooks_and_are_linked(math_site):
    html, variant = math_site
    if variant != "offline":
        assert not (html / "_archives").exists()
        return
    with zipfile.ZipFile(html / "_archives" / "fixture-html.zip") as zf:
        names = set(zf.namelist())
    pages = {f"fixture-html/{p.relative_to(html).as_posix()}" for p in html.rglob("*.html")
             if "_archives" not in p.parts}
    assert pages <= names and "fixture-html/_static/mathjax/tex-mml-chtml.js" in names
    with zipfile.ZipFile(html / "_archives" / "fixture-notebooks-jax.zip") as zf:
        assert sorted(zf.namelist()) == ["fixture-notebooks-jax/chapters/second.ipynb",
                                         "fixture-notebooks-jax/chapters/tabs.ipynb"]
    soup = BeautifulSoup((html / "intro.html").read_text(encoding="utf-8"), "html.parser")
    links = {a.get_text(): a["href"] for a in soup.select("a.tabbook-archive")}
    assert links == {"the whole site (.zip)": "_archives/fixture-html.zip",
                     "JAX notebooks": "_archives/fixture-notebooks-jax.zip"}, links


def test_archive_role_naming_an_archive_not_built_fails_the_strict_build(tmp_path):
    root = copy_book("book", tmp_path / "book")
    cfg = yaml.safe_load((root / "_config.yml").read_text())
    cfg["sphinx"]["config"]["tabbook_archives"] = {"site": True}  # no notebook archives
    (root / "_config.yml").write_text(yaml.safe_dump(cfg))
    with open(root / "intro.md", "a", encoding="utf-8") as f:
        f.write("\nGet {archive}`site` and {archive}`jax`.\n")
    for page in ("chapters/tabs", "chapters/second"):
        make_merged(root, page)
    result = sphinx_build(root)
    assert result.returncode != 0
    # the line is the one Sphinx gives its own roles there (e.g. a broken {doc})
    assert re.search(r"intro\.md:\d+: ERROR: archive 'jax' is not built", result.stderr), \
        result.stderr[-2000:]
    assert "archive 'site'" not in result.stderr
