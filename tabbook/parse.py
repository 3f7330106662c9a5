"""Read a MyST notebook page and label its cells with their frameworks.

Framework markup: a code cell whose first line is ``%%tab a, b`` (or ``%%tab all``), cell tags
``tab-<name>``, and ``{fw-block} a, b`` directives in markdown. Errors name file and line.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from .config import BookConfig
from .markup import MarkupError, check_names, fw_blocks, split_names

TAB_TAG = "tab-"
_TAB_LINE = re.compile(r"^%%tab(?:\s+(.*?))?\s*$")


class SourceError(Exception):
    """Bad input, located in a page: ``path:line: [framework] message`` plus the cell's first lines."""

    def __init__(self, path: str, line: int | None, message: str, framework: str | None = None,
                 cell: str | None = None, detail: str | None = None):
        self.path, self.line, self.message = path, line, message
        self.framework, self.cell, self.detail = framework, cell, detail
        super().__init__(self.format())

    def format(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        fw = f" [{self.framework}]" if self.framework else ""
        out = [f"{where}:{fw} {self.message}"]
        if self.cell is not None:
            first = self.cell.split("\n")[:4]
            more = "\n    ..." if self.cell.count("\n") >= 4 else ""
            out.append("  cell:\n" + "\n".join("    " + ln for ln in first) + more)
        if self.detail:
            out.append(self.detail.rstrip())
        return "\n".join(out)


@dataclass
class Cell:
    index: int  # position in the page's notebook
    kind: str  # "code" or "markdown"
    source: str  # code without its %%tab line, or the markdown text
    line: int  # 1-based line in the page of the first line of `source`
    metadata: dict = field(default_factory=dict)  # tags kept, tab-* tags removed
    frameworks: tuple[str, ...] | None = None  # code: None = shared by all; else marked
    directive_line: int = 0  # the cell's entry in myst-nb's source map
    fw_blocks: tuple = ()  # markdown: (line, frameworks) of each top-level fw-block


@dataclass
class Page:
    path: Path
    rel: str  # path relative to the book root, e.g. chapters/x.md
    text: str
    sha256: str
    frameworks: list[str]
    timeout: int
    metadata: dict  # front matter
    cells: list[Cell]

    @property
    def docname(self) -> str:
        return self.rel.rsplit(".", 1)[0]

    @property
    def code_cells(self) -> list[Cell]:
        return [c for c in self.cells if c.kind == "code"]


def source_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _content_line(lines: list[str], start: int, first: str) -> int:
    """1-based line of a cell's first content line, searching from its 0-based start line."""
    first = first.rstrip()
    for n in range(start, len(lines)):
        if lines[n].rstrip() == first:
            return n + 1
    return start + 2


def _fw_blocks(text: str, start_line: int, rel: str, known: list[str]) -> list[tuple[int, tuple]]:
    """Check the fw-block directives of a markdown cell; return (line, frameworks) of each."""
    try:
        return [(b.line, b.frameworks) for b in fw_blocks(text, known, start_line)]
    except MarkupError as e:
        raise SourceError(rel, e.line, e.message) from None


def _check_names(names, known, rel, line, what) -> tuple[str, ...]:
    try:
        return check_names(names, known, what, line)
    except MarkupError as e:
        raise SourceError(rel, e.line, e.message) from None


def parse_page(path, config: BookConfig) -> Page:
    """Read one page; raise :class:`SourceError` on malformed framework markup."""
    from myst_nb.core.read import read_myst_markdown_notebook

    path = Path(path).resolve()
    rel = path.relative_to(config.root).as_posix()
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    try:
        nb = read_myst_markdown_notebook(text, add_source_map=True, path=path)
    except Exception as e:  # myst-nb raises several types for bad front matter / directives
        raise SourceError(rel, 1, f"cannot read the page: {e} (fix the front matter or the directive "
                          f"named; a page starts with `---`, its YAML front matter, and `---`)") from None
    meta = dict(nb.metadata)
    smap = meta.pop("source_map")
    tb = meta.get("tabbook") or {}
    declared = tb.get("frameworks")
    book = config.framework_names
    if declared is not None:
        if isinstance(declared, str):
            declared = split_names(declared)
        at = next((n for n, ln in enumerate(lines, 1) if re.match(r"\s*frameworks\s*:", ln)), 1)
        frameworks = list(_check_names(declared, book, rel, at, "front matter tabbook.frameworks"))
    else:
        frameworks = book[:1]
    cells = []
    marked_at = None
    for i, (nbcell, start) in enumerate(zip(nb.cells, smap)):
        src = nbcell.source
        md = dict(nbcell.metadata)
        line = _content_line(lines, start, src.split("\n", 1)[0]) if src.strip() else start + 2
        if nbcell.cell_type == "markdown":
            blocks = _fw_blocks(src, line, rel, frameworks if declared is not None else book)
            if blocks and marked_at is None:
                marked_at = blocks[0][0]
            cells.append(Cell(i, "markdown", src, line, md, directive_line=start, fw_blocks=tuple(blocks)))
            continue
        if nbcell.cell_type != "code":
            raise SourceError(rel, start + 1, f"unsupported cell type {nbcell.cell_type} (a page holds "
                              f"markdown and {{code-cell}} directives only)")
        tags = list(md.get("tags", []))
        names: list[str] = []
        for t in [t for t in tags if t.startswith(TAB_TAG)]:
            names.append(t[len(TAB_TAG):])
            tags.remove(t)
        first, _, rest = src.partition("\n")
        m = _TAB_LINE.match(first)
        if m:
            names += split_names(m.group(1) or "")
            if not split_names(m.group(1) or ""):
                raise SourceError(rel, line, "%%tab names no framework (use %%tab all for every one)")
            src, line = rest, line + 1
        elif first.startswith("%%tab"):
            raise SourceError(rel, line, f"malformed %%tab line: {first!r}: write %%tab, a space and "
                              f"the frameworks, e.g. %%tab {', '.join(frameworks[:2])} (or %%tab all)")
        if tags:
            md["tags"] = tags
        else:
            md.pop("tags", None)
        fws = None
        if names:
            if marked_at is None:
                marked_at = line - 1 if m else start + 1
            if declared is None:
                raise SourceError(rel, marked_at, "the page uses %%tab / tab- tags but declares no "
                                  "frameworks (add tabbook: {frameworks: [...]} to its front matter)")
            if "all" in names:
                fws = tuple(frameworks)
            else:
                fws = _check_names(dict.fromkeys(names), frameworks, rel, line - (1 if m else 0),
                                   "%%tab" if m else "cell tag tab-<name>")
        cells.append(Cell(i, "code", src, line, md, fws, directive_line=start))
    if declared is None and marked_at is not None:
        raise SourceError(rel, marked_at, "the page uses framework markup but declares no frameworks "
                          "(add tabbook: {frameworks: [...]} to its front matter)")
    return Page(path=path, rel=rel, text=text, sha256=source_sha256(text), frameworks=frameworks,
                timeout=int(tb.get("timeout", config.timeout)), metadata=meta, cells=cells)


def has_tabbook_content(page: Page) -> bool:
    """Whether the engine must execute/merge this page (code cells or framework markup)."""
    return bool(page.code_cells) or "tabbook" in page.metadata or any(c.fw_blocks for c in page.cells)
