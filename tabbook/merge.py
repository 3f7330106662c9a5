"""Merge the executed notebooks of a page's frameworks into one notebook (read by tabbook.sphinx).

See the engine contract: markdown cells verbatim; a code cell per framework (its code and that
kernel's outputs) in page order, or one shared cell when an unmarked cell's code and outputs are
the same in every framework. ``metadata.tabbook.line`` of a code cell is the 1-based line of its
first code line in the page.
"""
from __future__ import annotations

import copy
import json

import nbformat

from .parse import Page

NOTEBOOK_KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _outputs_key(outputs) -> str:
    plain = [{k: v for k, v in out.items() if k != "execution_count"} for out in outputs]
    return json.dumps(plain, sort_keys=True)


def cells_by_source(nb) -> dict[int, nbformat.NotebookNode]:
    """Executed cells of a framework's notebook by the index of the page cell they come from."""
    return {c.metadata["tabbook"]["source_cell"]: c for c in nb.cells}


def merge(page: Page, executed: dict[str, nbformat.NotebookNode]) -> nbformat.NotebookNode:
    """``executed``: the executed notebook of every framework of the page."""
    missing = [fw for fw in page.frameworks if fw not in executed]
    if missing:
        raise ValueError(f"{page.rel}: no executed notebook for {', '.join(missing)}")
    by_fw = {fw: cells_by_source(executed[fw]) for fw in page.frameworks}
    nb = nbformat.v4.new_notebook()
    nb.metadata.update(copy.deepcopy(page.metadata))
    nb.metadata.tabbook = dict(page.metadata.get("tabbook") or {}, source=page.rel,
                               source_sha256=page.sha256, frameworks=list(page.frameworks))
    nb.metadata.kernelspec = dict(NOTEBOOK_KERNELSPEC)
    nb.metadata.language_info = {"name": "python"}
    source_map = []
    for cell in page.cells:
        if cell.kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(cell.source, metadata=copy.deepcopy(cell.metadata),
                                                          id=f"c{cell.index}"))
            source_map.append(cell.directive_line)
            continue
        runs = [(fw, by_fw[fw][cell.index]) for fw in page.frameworks if cell.index in by_fw[fw]]
        where = {"source_cell": cell.index, "line": cell.line}
        shared = (
            cell.frameworks is None
            and len(runs) == len(page.frameworks)
            and len({(c.source, _outputs_key(c.outputs)) for _, c in runs}) == 1
        )
        targets = [(None, runs[0][1])] if shared else runs
        for fw, ran in targets:
            md = {k: v for k, v in copy.deepcopy(ran.metadata).items() if k != "tabbook"}
            md["tabbook"] = dict(where, shared=True) if fw is None else dict(where, framework=fw)
            new = nbformat.v4.new_code_cell(ran.source, metadata=md,
                                            id=f"c{cell.index}" if fw is None else f"c{cell.index}-{fw}")
            new.outputs = copy.deepcopy(ran.outputs)
            new.execution_count = ran.execution_count
            nb.cells.append(new)
            source_map.append(cell.directive_line)
    nb.metadata.source_map = source_map
    return nb
