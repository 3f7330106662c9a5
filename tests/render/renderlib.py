"""Helpers for the render/browser tests: fixture books, hand-made merged notebooks, builds.

A *hand-made* merged notebook follows the engine contract but is made in this process without
kernels: each framework's code runs here with ``FRAMEWORK = "<name>"`` (stdout, errors and
matplotlib figures become its outputs: PNG, or SVG for MXNet), and cells are merged as the
contract says (one shared cell when every framework gives the same code and outputs).
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import yaml  # noqa: E402
from myst_nb.core.read import read_myst_markdown_notebook  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
BIN = Path(sys.executable).parent
SVG_FRAMEWORKS = {"mxnet"}


def tab_line(code: str, page: list[str]) -> tuple[list[str] | None, str]:
    """(frameworks named by a leading ``%%tab`` line or None if shared, code without it)."""
    first, _, rest = code.partition("\n")
    if not first.startswith("%%tab"):
        return None, code
    names = [n.strip() for n in first[len("%%tab"):].split(",")]
    return (list(page) if names == ["all"] else names), rest


def run_here(code: str, framework: str) -> list[nbformat.NotebookNode]:
    out, outputs = io.StringIO(), []
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"<{framework}>", "exec"), {"FRAMEWORK": framework})
    except Exception as e:  # becomes an error output, as a kernel would give
        error = nbformat.v4.new_output(
            "error", ename=type(e).__name__, evalue=str(e),
            traceback=traceback.format_exception_only(type(e), e))
    else:
        error = None
    if out.getvalue():
        outputs.append(nbformat.v4.new_output("stream", name="stdout", text=out.getvalue()))
    for num in plt.get_fignums():
        buf, fmt = io.BytesIO(), "svg" if framework in SVG_FRAMEWORKS else "png"
        plt.figure(num).savefig(buf, format=fmt)
        data = ({"image/svg+xml": buf.getvalue().decode()} if fmt == "svg"
                else {"image/png": base64.b64encode(buf.getvalue()).decode()})
        outputs.append(nbformat.v4.new_output("display_data", data={**data, "text/plain": "<Figure>"}))
    plt.close("all")
    return outputs + ([error] if error else [])


def make_merged(book: Path, docname: str) -> None:
    """Write ``_build/tabbook/merged/<docname>.ipynb`` and the per-framework notebooks."""
    text = (book / f"{docname}.md").read_text(encoding="utf-8")
    page_nb = read_myst_markdown_notebook(text, add_source_map=True)
    page = page_nb.metadata["tabbook"]["frameworks"]
    merged = nbformat.v4.new_notebook(metadata={
        **page_nb.metadata,
        "tabbook": {"source": f"{docname}.md", "frameworks": page,
                    "source_sha256": hashlib.sha256(text.encode()).hexdigest()},
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    source_map, per_framework = [], {fw: [] for fw in page}
    for k, (cell, line) in enumerate(zip(page_nb.cells, page_nb.metadata["source_map"])):
        if cell.cell_type != "code":
            merged.cells.append(cell)
            source_map.append(line)
            continue
        names, code = tab_line(cell.source, page)
        runs = {fw: (code, run_here(code, fw)) for fw in (names or page)}
        for fw, (code_fw, outputs) in runs.items():
            per_framework[fw].append(nbformat.v4.new_code_cell(code_fw, outputs=outputs))
        if names is None and len({repr(r) for r in runs.values()}) == 1:
            runs = {None: next(iter(runs.values()))}
        for fw, (code_fw, outputs) in runs.items():
            where = {"shared": True} if fw is None else {"framework": fw}
            meta = {**cell.metadata, "tabbook": {**where, "source_cell": k, "line": line}}
            merged.cells.append(nbformat.v4.new_code_cell(code_fw, outputs=outputs, metadata=meta))
            source_map.append(line)
    merged.metadata["source_map"] = source_map
    out = book / "_build" / "tabbook"
    (out / "merged" / docname).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(merged, out / "merged" / f"{docname}.ipynb")
    for fw, cells in per_framework.items():
        path = out / "notebooks" / fw / f"{docname}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


def copy_book(name: str, dest: Path, tabs: str | None = None) -> Path:
    """Copy fixture book ``name`` to ``dest``, optionally switching the tab library."""
    shutil.copytree(FIXTURES / name, dest)
    if tabs:
        cfg = yaml.safe_load((dest / "_config.yml").read_text())
        cfg["sphinx"]["config"]["tabbook"]["tabs"] = tabs
        (dest / "_config.yml").write_text(yaml.safe_dump(cfg))
    return dest


def sphinx_build(book: Path, fresh: bool = True) -> subprocess.CompletedProcess:
    """Strict build of ``book`` into ``book/_build/html`` (``fresh``: ignore the saved env)."""
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    subprocess.run([BIN / "jupyter-book", "config", "sphinx", str(book)], check=True,
                   capture_output=True, env=env)
    flags = ["-W", "-n", "--keep-going", *(["-E"] if fresh else [])]
    return subprocess.run([BIN / "sphinx-build", "-b", "html", *flags, str(book),
                           str(book / "_build" / "html")],
                          capture_output=True, text=True, env=env)


PAGES = ["chapters/tabs", "chapters/second"]  # the fixture book's tabbed pages
ARTIFACTS = REPO / "_build" / "test-artifacts"  # screenshots of the browser tests


def soup(root, docname: str):
    from bs4 import BeautifulSoup
    return BeautifulSoup((root / "_build" / "html" / f"{docname}.html").read_text(), "html.parser")
