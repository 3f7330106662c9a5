"""Warnings that stay until they are fixed, and suggestions for unknown references.

Sphinx re-reads only the pages that changed, and re-writes only those it must, so a warning of a
page that is not touched is printed once and then never again: after a strict build failed on a
broken reference, a plain build says "succeeded" although the page is still broken. This module
keeps every page's warnings in ``warnings.json`` of the engine's folder (:class:`tabbook.layout.Layout`),
split by phase: those of reading (markup, directives) and those of writing (references are
resolved while a page is written). A phase that runs for a page replaces that page's record; at
the end of every build the warnings of pages (and phases) that did not run again are printed
again, as warnings, so a strict build fails on them and a plain one reports them, until the page
is fixed. The file also gives ``python -m tabbook html --strict`` its short ``file:line`` list.

An unknown label (``{ref}``, ``{numref}``) or document (``{doc}``) gets the closest known one
as a suggestion.
"""
from __future__ import annotations

import difflib
import json
import logging
from pathlib import Path

from docutils import nodes
from docutils.utils import get_source_line
from sphinx.application import Sphinx
from sphinx.util import logging as sphinx_logging
from sphinx.util.build_phase import BuildPhase

REPEATED = "(still there from an earlier build: the page was not re-read) "
logger = sphinx_logging.getLogger(__name__)


def store_path(build_dir) -> Path:
    from tabbook.layout import Layout
    return Layout(Path(build_dir)).warnings


def read_store(build_dir) -> dict[str, dict[str, list[list]]]:
    """docname -> {"read" | "write": [[path, line, message], ...]}; {} when there is none."""
    try:
        data = json.loads(store_path(build_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def listing(build_dir) -> list[str]:
    """The stored warnings as ``path:line: message`` lines, in page order."""
    out = []
    for docname in sorted(read_store(build_dir)):
        for phase in ("read", "write"):
            for path, line, message in read_store(build_dir)[docname].get(phase, []):
                out.append(f"{path}:{line}: {message}" if line else f"{path}: {message}")
    return out


class _Recorder(logging.Handler):
    """Collects the warnings Sphinx logs, by page and phase, during one build."""

    def __init__(self, app: Sphinx):
        super().__init__(logging.WARNING)
        self.app = app
        self.fresh: dict[str, dict[str, list[list]]] = {}
        self.ran: dict[str, set[str]] = {"read": set(), "write": set()}
        self.replaying = False
        self.suppressor = sphinx_logging.WarningSuppressor(app)

    def _where(self, record) -> tuple[str | None, str, int]:
        env, location = self.app.env, getattr(record, "location", None)
        docname, path, line = None, "", 0
        if isinstance(location, tuple):
            docname, line = location[0], location[1] or 0
        elif isinstance(location, nodes.Node):
            source, line = get_source_line(location)
            path, line = source or "", line or 0
        elif isinstance(location, str) and location:
            head, _, tail = location.rpartition(":")
            if head and (tail.isdigit() or not tail):
                path, line = head, int(tail) if tail else 0
            elif location in env.all_docs or location in env.found_docs:
                docname = location
            else:
                path = location
        if path and docname is None:
            path = path.split(":")[0]  # "file.md:<cell>" forms
            docname = env.path2doc(path) if Path(path).is_absolute() else None
        if docname and not path:
            path = str(env.doc2path(docname))
        try:
            rel = Path(path).resolve().relative_to(Path(self.app.srcdir).resolve()).as_posix()
        except (ValueError, OSError):
            rel = path
        return docname, rel, int(line or 0)

    def emit(self, record: logging.LogRecord) -> None:
        if self.replaying or record.levelno < logging.WARNING or not self.suppressor.filter(record):
            return
        try:
            docname, path, line = self._where(record)
        except Exception:  # never let bookkeeping break a build
            return
        if not docname:
            return
        phase = "read" if self.app.phase <= BuildPhase.READING else "write"
        entry = [path, line, record.getMessage()]
        bucket = self.fresh.setdefault(docname, {}).setdefault(phase, [])
        if entry not in bucket:
            bucket.append(entry)


def _recorder(app: Sphinx) -> _Recorder:
    return app.tabbook_warnings


def _on_builder_inited(app: Sphinx) -> None:
    app.tabbook_warnings = _Recorder(app)
    logging.getLogger(sphinx_logging.NAMESPACE).addHandler(app.tabbook_warnings)


def _on_source_read(app: Sphinx, docname: str, source) -> None:
    _recorder(app).ran["read"].add(docname)


def _on_doctree_resolved(app: Sphinx, doctree, docname: str) -> None:
    _recorder(app).ran["write"].add(docname)


def _on_build_finished(app: Sphinx, exc) -> None:
    rec = getattr(app, "tabbook_warnings", None)
    if rec is None:
        return
    logging.getLogger(sphinx_logging.NAMESPACE).removeHandler(rec)
    from . import settings
    build_dir = settings.get(app).book.build_dir
    stored = read_store(build_dir)
    docs = set(app.env.found_docs)
    result: dict[str, dict[str, list[list]]] = {}
    stale: list[tuple[str, list]] = []
    for docname in sorted(docs | set(rec.fresh)):
        entry = {}
        for phase in ("read", "write"):
            if docname in rec.ran[phase] or docname in rec.fresh and phase in rec.fresh[docname]:
                entry[phase] = rec.fresh.get(docname, {}).get(phase, [])
            else:
                old = stored.get(docname, {}).get(phase, [])
                entry[phase] = old
                stale += [(docname, w) for w in old]
        if entry["read"] or entry["write"]:
            result[docname] = entry
    rec.replaying = True
    try:
        for docname, (path, line, message) in stale:
            logger.warning(REPEATED + message, location=(docname, line or None), type="tabbook",
                           subtype="repeated")
    finally:
        rec.replaying = False
    build_dir.mkdir(parents=True, exist_ok=True)
    store_path(build_dir).write_text(json.dumps(result, indent=1, sort_keys=True), encoding="utf-8")


# ------------------------------------------------------------------------ close-match suggestions

def _on_missing_reference(app: Sphinx, domain, node) -> bool | None:
    typ, target = node.get("reftype"), node.get("reftarget", "")
    if node.get("refdomain", "std") not in ("", "std") or typ not in ("ref", "numref", "doc"):
        return None
    if typ == "doc":
        known = sorted(app.env.found_docs)
        what = "document"
        target = target.lstrip("/")
    else:
        std = app.env.get_domain("std")
        target = target.lower()
        if typ == "ref" and target in std.anonlabels:  # Sphinx's own message for this case
            logger.warning(f"Failed to create a cross reference. A title or caption not found: {target!r}",
                           location=node, type="ref", subtype=typ)
            return True
        known = sorted(set(std.labels) | set(std.anonlabels))
        what = "label"
    close = difflib.get_close_matches(target, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else "; no label is close to it" if what == "label" else ""
    word = "unknown document" if what == "document" else "undefined label"
    logger.warning(f"{word}: {target!r} ({typ}){hint}", location=node, type="ref", subtype=typ)
    return True


def _replace_sphinx_handler(app: Sphinx) -> None:
    """Sphinx runs every ``warn-missing-reference`` handler (``emit_firstresult`` only picks the
    first answer), so its standard domain's, which reports an unknown label without a
    suggestion, is disconnected: this module reports every case it reported."""
    from sphinx.domains import std
    for listener in list(app.events.listeners.get("warn-missing-reference", [])):
        if listener.handler is std.warn_missing_reference:
            app.disconnect(listener.id)


def setup(app: Sphinx) -> None:
    app.connect("builder-inited", _replace_sphinx_handler)
    app.connect("builder-inited", _on_builder_inited)
    app.connect("source-read", _on_source_read)
    app.connect("doctree-resolved", _on_doctree_resolved)
    app.connect("build-finished", _on_build_finished)
    app.connect("warn-missing-reference", _on_missing_reference)
