"""Reading pages: a page with framework markup is rendered from its merged notebook.

myst-nb calls :func:`read_page` (registered as the ``.md`` custom format) with the page text
only, so the ``source-read`` handler, which knows the docname, finds the page's merged notebook
``<build_dir>/merged/<docname>.ipynb``, checks that it was made from this very text (sha256), and
hands it over; both run in the same process, one page at a time.
"""
from __future__ import annotations

import hashlib

import nbformat
from myst_nb.core.read import read_myst_markdown_notebook
from sphinx.application import Sphinx
from sphinx.errors import SphinxError

from ..markup import has_markup
from . import settings


_handed_over: dict[str, nbformat.NotebookNode] = {}  # sha256 of a page's text -> merged notebook


class TabbookError(SphinxError):
    category = "tabbook error"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def needs_execution(text: str) -> bool:
    """Whether a MyST page has code cells, fw-blocks or a ``tabbook`` front-matter key."""
    return has_markup(text) or "tabbook" in read_myst_markdown_notebook(text).metadata


def _on_source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    path = app.env.doc2path(docname)
    if not str(path).endswith(".md"):
        return
    sha = _sha256(source[0])
    book = settings.get(app).book
    merged = book.build_dir / "merged" / f"{docname}.ipynb"
    why = f"no {merged}"
    if merged.is_file():
        app.env.note_dependency(str(merged))  # re-read the page when it is re-executed
        nb = nbformat.read(merged, as_version=4)
        meta = nb.metadata.get("tabbook", {})
        if meta.get("source_sha256") == sha:
            frameworks = list(meta.get("frameworks", []))
            unknown = [fw for fw in frameworks if fw not in book.frameworks]
            if unknown:
                raise TabbookError(f"{merged}: frameworks {unknown} of page {docname} are not in "
                                   "the book's `tabbook: frameworks:` (_config.yml)")
            app.env.metadata[docname]["tabbook_frameworks"] = frameworks
            _handed_over[sha] = nb
            return
        why = f"{merged} was made from an older version of it"
    if needs_execution(source[0]):
        raise TabbookError(f"page {docname} ({path}) has not been executed ({why}): run `make html`")


def read_page(text: str) -> nbformat.NotebookNode:
    """The myst-nb reader for ``.md`` pages: the merged notebook, or the page itself as MyST."""
    nb = _handed_over.pop(_sha256(text), None)
    return nb if nb is not None else read_myst_markdown_notebook(text, add_source_map=True)


def setup(app: Sphinx) -> None:
    app.connect("source-read", _on_source_read)
