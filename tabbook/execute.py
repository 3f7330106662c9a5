"""Execute one framework's notebook of a page in that framework's Jupyter kernel."""
from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from .config import DEFAULT_KERNEL_HINT, DEFAULT_THREADS_ENV, ConfigError
from .parse import SourceError
from .split import SplitNotebook

# Run first in every kernel, hidden from outputs: gives non-pure `tab.selected(...)` conditions a
# `tab` object, then the framework's own setup (e.g. `%matplotlib inline`).
HIDDEN_SETUP = "%load_ext tabbook.magic"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TABBOOK_PATH = str(Path(__file__).resolve().parent.parent)


def check_kernel(name: str, framework: str, hint: str | None = None) -> None:
    """Raise ConfigError when the kernel is not installed where Jupyter looks for it.

    ``hint``: the fix to print (the book's ``hints.kernel``, see
    :meth:`tabbook.config.BookConfig.kernel_hint`); a neutral one by default."""
    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        fix = (hint or DEFAULT_KERNEL_HINT).replace("{kernel}", name)
        raise ConfigError(f"framework {framework}: Jupyter kernel {name!r} is not installed: {fix}") from None


def kernel_env(framework: str, threads: int | None = None,
               variable: str = DEFAULT_THREADS_ENV) -> dict[str, str]:
    """The kernel's environment: ``TABBOOK_FRAMEWORK``, the build's pid (kernels exit with it) and,
    when ``threads`` is given, the CPU threads its framework may use in ``variable`` (the book's
    ``threads_env``). The configured count wins over one in the build's own environment, so
    that the same configuration always executes with the same threads."""
    env = dict(os.environ, TABBOOK_FRAMEWORK=framework, TABBOOK_BUILD_PID=str(os.getpid()))
    if threads:
        env[variable] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (TABBOOK_PATH, env.get("PYTHONPATH")) if p)
    return env


def log_path(split: SplitNotebook, log_dir=None) -> Path:
    """Where the kernel's own output goes (start-up lines of native libraries, crashes):
    ``<log_dir>/<framework>/<docname>.log``; ``log_dir`` defaults to ``_build/tabbook/logs``
    under the book's root."""
    page = split.page
    if log_dir is None:
        root = Path(str(page.path)[: -len(page.rel)]) if str(page.path).endswith(page.rel) else page.path.parent
        log_dir = root / "_build" / "tabbook" / "logs"
    return Path(log_dir) / split.framework.name / (page.rel.rsplit(".", 1)[0] + ".log")


def _error_text(cell) -> str:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return _ANSI.sub("", "\n".join(out.get("traceback", [])))
    return ""


def execute(split: SplitNotebook, on_cell=None, threads: int | None = None,
            log_dir=None) -> nbformat.NotebookNode:
    """Run ``split`` and return its notebook with outputs (execution counts from 1).

    ``threads``: CPU threads for a framework whose configured ``threads`` is ``auto``; a fixed
    count from ``_config.yml`` wins (see :func:`kernel_env`). The kernel process writes its own
    stdout and stderr (e.g. TensorFlow's absl and oneDNN start-up lines) to :func:`log_path`,
    not to the build's console; a failure names that file.

    ``on_cell(i, n)`` is called before cell i of n. A failing cell raises :class:`SourceError`
    naming the page line, framework, the cell and the traceback.
    """
    fw, page = split.framework, split.page
    nb = split.to_notebook()
    setup_src = "\n".join(s for s in (HIDDEN_SETUP, fw.setup) if s)
    nb.cells.insert(0, nbformat.v4.new_code_cell(setup_src, id="tabbook-setup"))
    client = NotebookClient(nb, kernel_name=fw.kernel, timeout=split.timeout, record_timing=False,
                            allow_errors=False, resources={"metadata": {"path": str(page.path.parent)}})
    n = len(nb.cells) - 1
    log = log_path(split, log_dir)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = kernel_env(fw.name, fw.threads or threads, fw.threads_env)
    with open(log, "wb") as log_file:
        try:
            with client.setup_kernel(env=env, stdout=log_file, stderr=log_file):
                for i, cell in enumerate(nb.cells):
                    if i and on_cell:
                        on_cell(i, n)
                    try:
                        client.execute_cell(cell, i)
                    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
                        raise _failure(split, i, cell, e, log) from None
        except SourceError:
            raise
        except Exception as e:  # the kernel did not start, or died between cells
            raise SourceError(page.rel, None, f"kernel {fw.kernel} failed: {type(e).__name__}: {e}; "
                              f"its own output is in {log}", framework=fw.name) from None
    del nb.cells[0]
    for count, cell in enumerate(nb.cells, 1):
        cell.execution_count = count
        for out in cell.outputs:
            if "execution_count" in out:
                out.execution_count = count
    return nb


def _failure(split: SplitNotebook, i: int, cell, exc: Exception, log: Path | None = None) -> SourceError:
    page, fw = split.page, split.framework
    see_log = f" (the kernel's own output is in {log})" if log else ""
    if i == 0:
        return SourceError(page.rel, None, f"the hidden setup of kernel {fw.kernel} failed{see_log}: "
                           f"{_error_text(cell) or exc}", framework=fw.name, cell=cell.source)
    src = page.cells[split.cells[i - 1].source_cell]
    detail = _error_text(cell)
    line = _page_line(split, i, detail) or src.line
    if isinstance(exc, CellTimeoutError):
        what = f"cell timed out after {split.timeout} s (set tabbook.timeout)"
    elif isinstance(exc, DeadKernelError):
        what = f"kernel {fw.kernel} died while running the cell{see_log}"
    else:
        what = f"cell raised {getattr(exc, 'ename', type(exc).__name__)}"
    return SourceError(page.rel, line, what, framework=fw.name, cell=cell.source,
                       detail=_in_page_terms(split, detail) or str(exc))


# IPython names a cell's frames "Cell In[<execution count>], line <n>"; cell i of the executed
# notebook (0: the hidden setup) runs as execution count i + 1.
_CELL_FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)")


def _frame_page_line(split: SplitNotebook, count: int, n: int) -> int | None:
    """Page line of line ``n`` of the cell that ran as execution count ``count``."""
    if not 2 <= count <= len(split.cells) + 1:
        return None
    sc = split.cells[count - 2]
    if not 1 <= n <= len(sc.lines):
        return None
    return split.page.cells[sc.source_cell].line + sc.lines[n - 1] - 1


def _page_line(split: SplitNotebook, i: int, traceback: str) -> int | None:
    """Page line of the statement that failed in cell ``i``: its innermost frame in that cell."""
    frames = [int(m.group(2)) for m in _CELL_FRAME.finditer(traceback) if int(m.group(1)) == i + 1]
    return _frame_page_line(split, i + 1, frames[-1]) if frames else None


def _in_page_terms(split: SplitNotebook, traceback: str) -> str:
    """The traceback with each "Cell In[k], line n" of a page cell named by its page line."""
    def name(m: re.Match) -> str:
        line = _frame_page_line(split, int(m.group(1)), int(m.group(2)))
        return f"{split.page.rel}:{line}" if line else m.group(0)
    return _CELL_FRAME.sub(name, traceback)
