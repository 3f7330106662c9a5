"""Pages that log no error in the browser console: three fixes for the stack jupyter-book uses.

1. Inline ``<script>`` bodies added after the HTML builder starts are written once, not twice.
   Sphinx before 8.2.2 hands ``Sphinx.add_js_file(None, body=...)`` to the running builder with
   the filename ``None``; before writing, the builder adds every registered script again, with
   the filename ``''``. The two differ, so such a script lands on every page twice. sphinx-thebe
   adds ``const THEBE_JS_URL = ...`` this way (at ``env-before-read-docs``), and the second
   declaration of that ``const`` is a SyntaxError ("Identifier 'THEBE_JS_URL' has already been
   declared") on every page; sphinx-togglebutton's ``var togglebuttonSelector`` is doubled too.
   Sphinx fixed it in sphinx-doc/sphinx#13402 (the builder is given ``''``); so does this module.
2. pydata-sphinx-theme (under sphinx-book-theme) starts a first-time visitor, whose browser has
   no stored colour mode, on ``html_context["default_mode"]``; unset, that is ``""``, which its
   script rejects with ``console.error("Got invalid theme mode: . Resetting to auto.")``. Unset,
   it is set to ``"auto"``, the mode the theme then falls back to anyway.
3. A page that declares no icon makes the browser ask for ``/favicon.ico`` at the server's root,
   a 404 error wherever the book is not at a host's root (and on a local server). Without
   ``html_favicon``, pages declare an empty icon (``data:,``), so nothing is requested.
"""
from __future__ import annotations

import sphinx
from sphinx.application import Sphinx
from sphinx.config import Config

FIXED_IN = (8, 2, 2)  # the Sphinx release with sphinx-doc/sphinx#13402
EMPTY_ICON = "data:,"


def _on_builder_inited(app: Sphinx) -> None:
    add_js_file = getattr(app.builder, "add_js_file", None)
    if add_js_file is None or sphinx.version_info[:3] >= FIXED_IN:
        return

    def add_js_file_once(filename: str | None, **kwargs) -> None:
        add_js_file(filename or "", **kwargs)

    app.builder.add_js_file = add_js_file_once


def _on_config_inited(app: Sphinx, config: Config) -> None:
    config.html_context = {"default_mode": "auto", **(config.html_context or {})}


def _on_page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if not context.get("favicon_url"):
        context["favicon_url"] = EMPTY_ICON


def setup(app: Sphinx) -> None:
    # before the builder-inited handlers of other extensions (500), which add inline scripts
    app.connect("builder-inited", _on_builder_inited, priority=100)
    app.connect("config-inited", _on_config_inited)
    # after Sphinx makes favicon_url a relative path (500)
    app.connect("html-page-context", _on_page_context, priority=600)
