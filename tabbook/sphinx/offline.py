"""A site that loads nothing from another host: MathJax from ``_static``, no CDN script.

Configured by ``tabbook_offline`` (:class:`.settings.Offline`):

- ``mathjax: <distribution>`` names an installed Python distribution (pinned with the book's
  tools) that ships MathJax 3's ``es5/`` tree, e.g. ``django-static-mathjax``. That tree is
  copied to ``_static/mathjax/`` (the ``mathjax_entry`` component, ``tex-mml-chtml.js`` by
  default, and every subfolder: the fonts and the components MathJax loads on demand; the other
  top-level bundles are left out) and Sphinx's ``mathjax_path`` points at it. MathJax finds its
  fonts and components next to its own script, so the site, served or opened from a downloaded
  copy, typesets math with no network. Empty (the default): Sphinx's ``mathjax_path`` as set.
- ``thebe: false`` drops sphinx-thebe's scripts from every page. jupyter-book always loads
  sphinx-thebe, whose inline script names thebe's bundle on unpkg.com to load it when a
  "Live Code" button is pressed; tabbook's pages have no such button (:mod:`.buttons` replaces the
  theme's launch buttons), so the scripts are dead weight that points at a CDN.
"""
from __future__ import annotations

import importlib.metadata
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError
from sphinx.ext.mathjax import MATHJAX_URL  # Sphinx's default mathjax_path (a CDN)
from sphinx.util import logging

from . import settings

logger = logging.getLogger(__name__)

TARGET = "mathjax"  # under _static/
THEBE_SCRIPT = "sphinx-thebe.js"
THEBE_INLINE = "THEBE_JS_URL"


def mathjax_tree(distribution: str, entry: str) -> Path:
    """The ``es5/`` folder of MathJax 3 in an installed distribution (holding ``entry``)."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError(f"tabbook_offline: mathjax: {distribution!r} is not installed "
                          "(add it, pinned, to the book's requirements)") from None
    for file in dist.files or ():
        if file.parts[-2:] == ("es5", entry):
            return Path(dist.locate_file(file)).parent
    raise ConfigError(f"tabbook_offline: mathjax: {distribution!r} has no es5/{entry}")


def mathjax_files(tree: Path, entry: str) -> list[Path]:
    """The files to publish, relative to ``tree``: the entry component and every subfolder."""
    files = [Path(entry)]
    for sub in sorted(p for p in tree.iterdir() if p.is_dir()):
        files += sorted(p.relative_to(tree) for p in sub.rglob("*") if p.is_file())
    return files


def copy_mathjax(tree: Path, files: list[Path], dest: Path) -> int:
    """Copy ``files`` from ``tree`` to ``dest``, skipping those already there; returns copies."""
    copied = 0
    for rel in files:
        src, out = tree / rel, dest / rel
        stat = src.stat()
        if out.is_file() and out.stat().st_size == stat.st_size and \
                out.stat().st_mtime_ns == stat.st_mtime_ns:
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, out)
        copied += 1
    return copied


def _on_config_inited(app: Sphinx, config: Config) -> None:
    offline = settings.get(app).offline
    if not offline.mathjax:
        return
    if config.mathjax_path not in (MATHJAX_URL, f"{TARGET}/{offline.mathjax_entry}"):
        raise ConfigError(f"tabbook_offline: mathjax is set, and so is mathjax_path "
                          f"({config.mathjax_path!r}): keep one")
    mathjax_tree(offline.mathjax, offline.mathjax_entry)  # fail early if it is missing
    config.mathjax_path = f"{TARGET}/{offline.mathjax_entry}"  # relative: under _static/


def _on_builder_inited(app: Sphinx) -> None:
    offline = settings.get(app).offline
    if app.builder.format != "html" or not offline.mathjax:
        return
    tree = mathjax_tree(offline.mathjax, offline.mathjax_entry)
    files = mathjax_files(tree, offline.mathjax_entry)
    copied = copy_mathjax(tree, files, Path(app.outdir, "_static", TARGET))
    logger.info(f"tabbook: MathJax from {offline.mathjax}: {len(files)} files in _static/{TARGET}"
                f" ({copied} copied)")


def _is_thebe(script) -> bool:
    filename = getattr(script, "filename", "") or ""
    body = (getattr(script, "attributes", None) or {}).get("body", "")
    return filename.endswith(f"_static/{THEBE_SCRIPT}") or THEBE_INLINE in body


def _on_page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if settings.get(app).offline.thebe:
        return
    scripts = context.get("script_files")
    if scripts:  # the builder's list, restored after each page: edit it in place
        scripts[:] = [s for s in scripts if not _is_thebe(s)]


def setup(app: Sphinx) -> None:
    app.connect("config-inited", _on_config_inited, priority=600)  # after settings (500)
    app.connect("builder-inited", _on_builder_inited)
    app.connect("html-page-context", _on_page_context, priority=900)
