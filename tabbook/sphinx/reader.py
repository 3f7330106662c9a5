"""Reading pages: a page with framework markup is rendered from its merged notebook.

The engine decides which pages it executes and writes that down in its manifest
(:meth:`tabbook.layout.Layout.read_manifest`: page -> frameworks, merged notebook, sha256 of the
page text). The ``source-read`` handler, which knows the docname, looks the page up there: a page
whose text has the manifest's hash is rendered from the merged notebook the manifest names (or
read by myst-nb itself when the engine found nothing to execute); a page the manifest does not
hold in this version is an error when it has code cells or fw-blocks (:func:`tabbook.markup.has_markup`).
myst-nb calls :func:`read_page` (the ``.md`` custom format) with the page text and the keyword
arguments registered with the format: here the build folder, so that it finds the notebook
through the manifest by the text's hash; no state passes between the two but the manifest.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat
from myst_nb.core.read import read_myst_markdown_notebook
from sphinx.application import Sphinx
from sphinx.errors import SphinxError

from ..layout import Layout
from ..markup import has_markup
from . import settings


class TabbookError(SphinxError):
    category = "tabbook error"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def needs_execution(text: str) -> bool:
    """Whether a MyST page has code cells, fw-blocks or a ``tabbook`` front-matter key."""
    return has_markup(text) or "tabbook" in read_myst_markdown_notebook(text).metadata


def build_hint(book) -> str:
    hints = getattr(book, "hints", None)
    return getattr(hints, "build", None) or "run `python -m tabbook html` from the book's root"


def _on_source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    path = app.env.doc2path(docname)
    if not str(path).endswith(".md"):
        return
    sha = _sha256(source[0])
    book = settings.get(app).book
    layout = Layout.of(book)
    entry = layout.read_manifest().get(docname)
    if entry is None:
        why = f"it is not in {layout.manifest}"
    elif entry.get("sha256") != sha:
        why = f"{layout.manifest} holds an older version of it"
    elif not entry.get("notebook"):
        return  # the engine found nothing to execute: myst-nb reads the page itself
    else:
        merged = layout.root / entry["notebook"]
        why = f"no {merged}"
        if merged.is_file():
            app.env.note_dependency(str(merged))
            nb = nbformat.read(merged, as_version=4)
            if nb.metadata.get("tabbook", {}).get("source_sha256") == sha:
                frameworks = list(entry.get("frameworks", []))
                unknown = [fw for fw in frameworks if fw not in book.frameworks]
                if unknown:
                    raise TabbookError(f"{merged}: frameworks {unknown} of page {docname} are not in "
                                       "the book's `tabbook: frameworks:` (_config.yml)")
                app.env.metadata[docname]["tabbook_frameworks"] = frameworks
                return
            why = f"{merged} was made from an older version of it"
    if needs_execution(source[0]):
        raise TabbookError(f"page {docname} ({path}) has not been executed ({why}): {build_hint(book)}")


def merged_notebook(layout: Layout, text: str) -> nbformat.NotebookNode | None:
    """The merged notebook the manifest names for a page of this very text, if any."""
    sha = _sha256(text)
    for entry in layout.read_manifest().values():
        if entry.get("sha256") == sha and entry.get("notebook"):
            path = layout.root / entry["notebook"]
            try:
                nb = nbformat.read(path, as_version=4)
            except (OSError, ValueError):
                return None
            return nb if nb.metadata.get("tabbook", {}).get("source_sha256") == sha else None
    return None


def read_page(text: str, build_dir: str | None = None) -> nbformat.NotebookNode:
    """The myst-nb reader for ``.md`` pages: the merged notebook, or the page itself as MyST."""
    nb = merged_notebook(Layout(Path(build_dir)), text) if build_dir else None
    return nb if nb is not None else read_myst_markdown_notebook(text, add_source_map=True)


def _register_build_dir(app: Sphinx, config) -> None:
    """Give the ``.md`` reader the build folder (after :mod:`.settings` registered it)."""
    reader, kwargs, commonmark = config.nb_custom_formats[".md"]
    config.nb_custom_formats = {**config.nb_custom_formats, ".md": (
        reader, {**kwargs, "build_dir": str(settings.get(app).book.build_dir)}, commonmark)}


def setup(app: Sphinx) -> None:
    app.connect("config-inited", _register_build_dir, priority=600)
    app.connect("source-read", _on_source_read)
