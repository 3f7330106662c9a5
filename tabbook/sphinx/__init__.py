"""Sphinx extension of tabbook: renders the merged notebooks written by ``python -m tabbook execute``.

One module per component: :mod:`.settings` (configuration), :mod:`.reader` (myst-nb reader of
merged notebooks), :mod:`.fw_block` (the ``fw-block`` directive), :mod:`.tabsets` (the transform
grouping framework content into tab sets), :mod:`.buttons` (per-framework launch/download
header buttons and the published ``.ipynb`` files), :mod:`.offline` (MathJax served from the
site, no CDN scripts), :mod:`.archives` (zip downloads of the site and of each framework's
notebooks, and the ``archive`` role), :mod:`.console` (fixes for errors the stack would log
in the browser console).
"""
from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx

from . import archives, buttons, console, fw_block, offline, reader, settings, tabsets

STATIC_DIR = Path(__file__).parent / "static"


def _add_static(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    app.config.html_static_path.append(str(STATIC_DIR))
    app.add_css_file("tabbook.css")
    if settings.get(app).book.tabs == "sphinx-tabs":
        # after sphinx-tabs' own tabs.js, whose selectNamedTabs() it calls
        app.add_js_file("tabbook-sphinx-tabs.js", priority=600)


def setup(app: Sphinx) -> dict:
    app.setup_extension("myst_nb")
    app.setup_extension("sphinx_design")
    app.setup_extension("sphinx_tabs.tabs")
    settings.setup(app)
    reader.setup(app)
    fw_block.setup(app)
    tabsets.setup(app)
    buttons.setup(app)
    console.setup(app)
    offline.setup(app)
    archives.setup(app)
    app.connect("builder-inited", _add_static)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
