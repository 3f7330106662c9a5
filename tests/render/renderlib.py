"""Helpers for the render/browser tests: fixture books, hand-made merged notebooks, builds.

A fixture page is published by the engine itself (:func:`tabbook.plan.make_plan`, then
:func:`tabbook.build.publish`: merge, export, manifest), only without kernels: each framework's
resolved cells run in this process with ``FRAMEWORK = "<name>"`` (stdout, errors and matplotlib
figures become its outputs: PNG, or SVG for MXNet).
"""
from __future__ import annotations

import base64
import contextlib
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

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
BIN = Path(sys.executable).parent
SVG_FRAMEWORKS = {"mxnet"}


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
    """Publish ``docname`` as the engine does (its plan, merge, export and manifest), with each
    framework's cells run here instead of in a kernel: ``_build/tabbook/merged/<docname>.ipynb``,
    the per-framework notebooks and the page's manifest entry."""
    from tabbook.build import Summary, publish
    from tabbook.config import load_config
    from tabbook.export import Pin
    from tabbook.plan import make_plan

    config = load_config(book)
    plan = make_plan(config, [f"{docname}.md"], compile_check=False)
    if plan.errors:
        raise AssertionError("\n".join(plan.errors.values()))
    results = {}
    for pp in plan.pages:
        for fw, split in pp.splits.items():
            nb = split.to_notebook()
            for cell in nb.cells:
                cell.outputs = run_here(cell.source, fw)
            nb.metadata.tabbook = {"key": pp.keys[fw], "source": pp.page.rel, "framework": fw}
            results[(pp.page.rel, fw)] = nb
    summary = Summary()
    publish(config, plan, results, summary, None, None, Pin("main", None, "render tests"), io.StringIO())
    assert summary.merged == [f"{docname}.md"], summary
    from tabbook.layout import Layout
    from tabbook.merge import contract_violations
    merged = nbformat.read(Layout.of(config).merged(docname), as_version=4)
    assert contract_violations(merged) == [], contract_violations(merged)


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
