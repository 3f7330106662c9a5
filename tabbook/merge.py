"""Merge the executed notebooks of a page's frameworks into one notebook (read by tabbook.sphinx).

The merged notebook's contract is written down in ``docs/merged-notebook.md``; in short:
markdown cells verbatim; a code cell per framework (its code and that kernel's outputs) in page
order, or one shared cell when an unmarked cell's code and outputs are the same in every
framework. ``metadata.tabbook.line`` of a code cell is the 1-based line of its first code line in
the page. :func:`contract_violations` checks a notebook against that contract.
"""
from __future__ import annotations

import copy
import json
import re

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


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def contract_violations(nb) -> list[str]:
    """What in ``nb`` breaks the merged-notebook contract (``docs/merged-notebook.md``); [] if nothing."""
    bad: list[str] = []
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        bad.append(f"not a valid nbformat 4 notebook: {e.message}")
    meta = nb.get("metadata", {})
    tb = meta.get("tabbook") or {}
    frameworks = tb.get("frameworks")
    if not isinstance(tb.get("source"), str) or not tb["source"]:
        bad.append("metadata.tabbook.source: missing")
    if not _SHA256.match(str(tb.get("source_sha256", ""))):
        bad.append("metadata.tabbook.source_sha256: not a sha256 hex digest")
    if not isinstance(frameworks, list) or not frameworks or len(set(frameworks)) != len(frameworks):
        bad.append("metadata.tabbook.frameworks: not a non-empty list of distinct names")
        frameworks = []
    smap = meta.get("source_map")
    if not isinstance(smap, list) or len(smap) != len(nb.cells) or not all(isinstance(n, int) for n in smap):
        bad.append("metadata.source_map: not one integer per cell")
    last = -1
    runs: dict[int, list] = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            continue
        if cell.cell_type != "code":
            bad.append(f"cell {i}: a {cell.cell_type} cell")
            continue
        where = cell.metadata.get("tabbook") or {}
        src, line = where.get("source_cell"), where.get("line")
        if not isinstance(src, int) or not isinstance(line, int) or line < 1:
            bad.append(f"cell {i}: metadata.tabbook needs source_cell and line (>= 1)")
            continue
        if src < last:
            bad.append(f"cell {i}: source_cell {src} after {last} (not in page order)")
        if last != src and src in runs:
            bad.append(f"cell {i}: the cells of page cell {src} are not adjacent")
        last = src
        shared, fw = where.get("shared") is True, where.get("framework")
        if shared == (fw is not None):
            bad.append(f"cell {i}: metadata.tabbook needs exactly one of shared / framework")
        elif fw is not None and fw not in frameworks:
            bad.append(f"cell {i}: framework {fw!r} is not one of {frameworks}")
        runs.setdefault(src, []).append("" if shared else fw)
        expected_id = f"c{src}" if shared else f"c{src}-{fw}"
        if cell.get("id") != expected_id:
            bad.append(f"cell {i}: id {cell.get('id')!r}, expected {expected_id!r}")
    for src, names in runs.items():
        if "" in names and len(names) > 1:
            bad.append(f"page cell {src}: a shared cell beside framework cells")
        fws = [n for n in names if n]
        if fws != [f for f in frameworks if f in fws]:
            bad.append(f"page cell {src}: framework cells {fws} not in the page's order {frameworks}")
    return bad
