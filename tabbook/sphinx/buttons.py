"""Per-framework launch and download buttons in sphinx-book-theme's header.

The theme's own buttons would open or download the page's ``.md`` source or its merged
notebook, which readers cannot run. On every page they are removed; a page with framework
notebooks (``<build_dir>/notebooks/<fw>/<docname>.ipynb``) gets instead:

- launch: "Colab (<Label>)" per framework and one "Binder (<Label>)" for the page's first
  framework, both opening the notebook published on ``launch.notebooks_branch``;
- download: ".ipynb (<Label>)" per framework, a copy of the notebook served from
  ``_notebooks/<fw>/<docname>.ipynb`` in the HTML output.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

from ..layout import Layout
from . import settings
from .reader import build_hint

logger = logging.getLogger(__name__)

THEME_PRIORITY = 501  # sphinx-book-theme adds its header buttons at this priority
COLAB = "https://colab.research.google.com/github/{org}/{repo}/blob/{branch}/{path}"
BINDER = "{hub}/v2/gh/{org}/{repo}/{branch}?urlpath=lab/tree/{path}"
THEME_BUTTONS_DROPPED = {"download-notebook-button", "download-source-button"}


def _link(text: str, tooltip: str, icon: str, url: str, label: str) -> dict[str, str]:
    return {"type": "link", "text": text, "tooltip": tooltip, "icon": icon, "url": url, "label": label}


def page_notebooks(app: Sphinx, docname: str) -> dict[str, Path]:
    """The per-framework notebooks of a page, in page order; warns about missing ones."""
    layout = Layout.of(settings.get(app).book)
    found = {}
    for framework in app.env.metadata[docname].get("tabbook_frameworks", []):
        path = layout.notebook(framework, docname)
        if path.is_file():
            found[framework] = path
        else:
            logger.warning(f"no {framework} notebook {path}: {build_hint(settings.get(app).book)}",
                           location=docname, type="tabbook", subtype="notebook")
    return found


def launch_buttons(app: Sphinx, docname: str, frameworks: list[str]) -> list[dict[str, str]]:
    s = settings.get(app)
    launch, (org, repo) = s.launch, s.github or (None, None)
    paths = {fw: launch.notebooks_path.format(framework=fw, docname=docname) for fw in frameworks}
    where = dict(org=org, repo=repo, branch=launch.notebooks_branch)
    buttons = []
    if launch.colab:
        for fw in frameworks:
            label = s.book.label(fw)
            buttons.append(_link(f"Colab ({label})", f"Open the {label} notebook in Colab",
                                 "_static/images/logo_colab.png",
                                 COLAB.format(path=paths[fw], **where), f"colab-{fw}-button"))
    if launch.binderhub:
        first = frameworks[0]
        label = s.book.label(first)
        url = BINDER.format(hub=launch.binderhub.rstrip("/"), path=paths[first], **where)
        buttons.append(_link(f"Binder ({label})", f"Open the {label} notebook on Binder",
                             "_static/images/logo_binder.svg", url, "binder-button"))
    return buttons


def _on_page_context(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                     doctree) -> None:
    header = context.get("header_buttons")
    if header is None or doctree is None:
        return
    header[:] = [b for b in header if b.get("label") != "launch-buttons"]
    downloads = next((b for b in header if b.get("label") == "download-buttons"), None)
    if downloads is not None:
        downloads["buttons"] = [b for b in downloads["buttons"]
                                if b.get("label") not in THEME_BUTTONS_DROPPED]
    notebooks = page_notebooks(app, pagename)
    if not notebooks:
        return
    launch = launch_buttons(app, pagename, list(notebooks))
    if launch:
        header.append({"type": "group", "tooltip": "Launch a notebook of this page",
                       "icon": "fas fa-rocket", "buttons": launch, "label": "launch-buttons"})
    if not settings.get(app).launch.download:
        return
    files = []
    for fw, src in notebooks.items():
        target = f"_notebooks/{fw}/{pagename}.ipynb"
        copy_notebook(src, Path(app.outdir, target))
        label = settings.get(app).book.label(fw)
        files.append(_link(f".ipynb ({label})", f"Download the {label} notebook", "fas fa-code",
                           context["pathto"](target, 1), f"download-{fw}-notebook-button"))
    if downloads is None:
        downloads = {"type": "group", "tooltip": "Download this page", "icon": "fas fa-download",
                     "buttons": [], "label": "download-buttons"}
        header.insert(0, downloads)
    downloads["buttons"][:0] = files


def copy_notebook(src: Path, dest: Path) -> None:
    if dest.is_file() and dest.read_bytes() == src.read_bytes():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    """Bring every page's published notebooks up to date, not only those of the pages written.

    Every engine build exports the notebooks again (a new commit in the install cell, a new
    exporter), while Sphinx rewrites only the pages whose merged notebook changed."""
    if exception is not None or app.builder.format != "html" or not settings.get(app).launch.download:
        return
    layout = Layout.of(settings.get(app).book)
    for docname, meta in app.env.metadata.items():
        for fw in meta.get("tabbook_frameworks", []):
            src = layout.notebook(fw, docname)
            if src.is_file():
                copy_notebook(src, Path(app.outdir, "_notebooks", fw, f"{docname}.ipynb"))


def setup(app: Sphinx) -> None:
    app.connect("html-page-context", _on_page_context, priority=THEME_PRIORITY + 1)
    # before the archives (tabbook.sphinx.archives, priority 900) zip the site
    app.connect("build-finished", _on_build_finished, priority=400)
