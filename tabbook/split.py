"""Split a page into one code-only notebook per framework (the unit that is executed and cached)."""
from __future__ import annotations

from dataclasses import dataclass

import nbformat

from .conditionals import ConditionalError, resolve_lines
from .config import Framework
from .parse import Page, SourceError


@dataclass(frozen=True)
class SplitCell:
    source_cell: int  # index of the page cell it comes from
    code: str  # resolved for this framework, no %%tab line
    metadata: dict
    lines: tuple[int, ...] = ()  # for each line of `code`, its 1-based line in the page cell's source


@dataclass
class SplitNotebook:
    page: Page
    framework: Framework
    cells: list[SplitCell]
    timeout: int

    def to_notebook(self) -> nbformat.NotebookNode:
        nb = nbformat.v4.new_notebook()
        nb.metadata.kernelspec = {"name": self.framework.kernel, "display_name": self.framework.kernel,
                                  "language": "python"}
        nb.metadata.language_info = {"name": "python"}
        for i, c in enumerate(self.cells):
            md = dict(c.metadata, tabbook={"source_cell": c.source_cell})
            nb.cells.append(nbformat.v4.new_code_cell(c.code, metadata=md, id=f"c{i}"))
        return nb


def cell_frameworks(page: Page, cell) -> tuple[str, ...]:
    return cell.frameworks if cell.frameworks is not None else tuple(page.frameworks)


def split_page(page: Page, frameworks: dict[str, Framework]) -> dict[str, SplitNotebook]:
    """One :class:`SplitNotebook` per framework of the page, in page order.

    Cells that resolve to no code for a framework are left out of its notebook.
    """
    out = {}
    for name in page.frameworks:
        cells = []
        for cell in page.code_cells:
            if name not in cell_frameworks(page, cell):
                continue
            try:
                code, origin = resolve_lines(cell.source, name, page.frameworks)
            except ConditionalError as e:
                raise SourceError(page.rel, cell.line + e.line - 1, str(e), framework=name,
                                  cell=cell.source) from None
            if code.strip():
                lead = len(code) - len(code.lstrip("\n"))  # blank lines stripped off the top
                code = code.strip("\n")
                lines = tuple(origin[lead:lead + code.count("\n") + 1])
                cells.append(SplitCell(cell.index, code, cell.metadata, lines))
        out[name] = SplitNotebook(page, frameworks[name], cells, page.timeout)
    return out
