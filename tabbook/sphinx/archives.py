"""Zip downloads of the whole site and of each framework's notebooks, and a role linking them.

Configured by ``tabbook_archives`` (:class:`.settings.Archives`); with ``name: N`` and
``dir: D`` (defaults ``book`` and ``_archives``) the HTML output gets, once everything else is
written (``build-finished``):

- ``site: true``: ``D/N-html.zip``, every file of the HTML output (hidden files and ``D``
  itself left out) under a top folder ``N-html/``; unzipped, its ``index.html`` opens the book;
- ``notebooks: true``: ``D/N-notebooks-<framework>.zip`` per framework, that framework's
  notebook of every page (``<build_dir>/notebooks/<framework>/<docname>.ipynb``) under
  ``N-notebooks-<framework>/<docname>.ipynb``.

An archive whose contents did not change is not rewritten: its zip comment holds a digest of
what went in (names, sizes, modification times).

The ``archive`` role links to one: ``{archive}`site``` or ``{archive}`pytorch``` (a framework
name), with an optional title, ``{archive}`all PyTorch notebooks <pytorch>```.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import zipfile
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole
from sphinx.util.nodes import split_explicit_title

from ..layout import Layout
from . import settings

logger = logging.getLogger(__name__)

SITE = "site"


def archive_path(app: Sphinx, what: str) -> str:
    """Path of archive ``what`` (``site`` or a framework) inside the HTML output, with ``/``."""
    a = settings.get(app).archives
    stem = f"{a.name}-html" if what == SITE else f"{a.name}-notebooks-{what}"
    return f"{a.dir}/{stem}.zip"


def site_files(outdir: Path, archive_dir: Path) -> list[tuple[Path, str]]:
    """(file, name in the archive) of every file of the HTML output, sorted, hidden ones left out."""
    found = []
    for root, dirs, files in os.walk(outdir):
        root = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and root / d != archive_dir)
        found += [(root / f, (root / f).relative_to(outdir).as_posix())
                  for f in sorted(files) if not f.startswith(".")]
    return found


def notebook_files(app: Sphinx, framework: str) -> list[tuple[Path, str]]:
    """(notebook, name in the archive) for every page of the book that has ``framework``."""
    layout = Layout.of(settings.get(app).book)
    found = []
    for docname in sorted(app.env.found_docs):
        if framework in app.env.metadata.get(docname, {}).get("tabbook_frameworks", []):
            path = layout.notebook(framework, docname)
            if path.is_file():
                found.append((path, f"{docname}.ipynb"))
    return found


def write_zip(dest: Path, top: str, files: list[tuple[Path, str]]) -> bool:
    """Write ``files`` into ``dest`` under folder ``top``; False if it already held just those."""
    manifest = "\n".join(f"{name}\t{path.stat().st_size}\t{path.stat().st_mtime_ns}"
                         for path, name in files)
    digest = hashlib.sha256(f"{top}\n{manifest}".encode()).hexdigest().encode()
    if dest.is_file():
        try:
            with zipfile.ZipFile(dest) as old:
                if old.comment == digest:
                    return False
        except zipfile.BadZipFile:
            pass
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path, name in files:
            zf.write(path, f"{top}/{name}")
        zf.comment = digest
    partial.replace(dest)
    return True


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    s = settings.get(app)
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    jobs = []
    if s.archives.site:
        jobs.append((SITE, site_files(outdir, outdir / s.archives.dir)))
    if s.archives.notebooks:
        for framework in s.book.frameworks:
            files = notebook_files(app, framework)
            if files:
                jobs.append((framework, files))
    for what, files in jobs:
        rel = archive_path(app, what)
        written = write_zip(outdir / rel, Path(rel).stem, files)
        logger.info(f"tabbook: {rel}: {len(files)} files{'' if written else ' (unchanged)'}")


class ArchiveRole(SphinxRole):
    """``{archive}`site``` / ``{archive}`<framework>```: a link to that archive."""

    def run(self):
        s = settings.get(self.env.app)
        has_title, title, what = split_explicit_title(self.text)
        what = what.strip()
        enabled = s.archives.site if what == SITE else \
            s.archives.notebooks and what in s.book.frameworks
        if not enabled:
            choices = [SITE] * s.archives.site + list(s.book.frameworks) * s.archives.notebooks
            msg = self.inliner.reporter.error(
                f"archive {what!r} is not built (tabbook_archives in _config.yml builds: "
                f"{', '.join(choices) or 'none'})", line=self.lineno)
            return [self.inliner.problematic(self.rawtext, self.rawtext, msg)], [msg]
        if not has_title:
            title = "the whole site" if what == SITE else f"the {s.book.label(what)} notebooks"
        target = archive_path(self.env.app, what)
        uri = posixpath.relpath(target, posixpath.dirname(self.env.docname) or ".")
        node = nodes.reference(self.rawtext, f"{title} (.zip)" if not has_title else title,
                               refuri=uri, classes=["tabbook-archive"])
        return [node], []


def setup(app: Sphinx) -> None:
    app.add_role("archive", ArchiveRole())
    app.connect("build-finished", _on_build_finished, priority=900)  # after others write files
