"""IPython extension for authors: ``%load_ext tabbook.magic``.

Gives a ``%%tab a, b`` cell magic that runs the cell only when it names the selected framework
(``%%tab all`` always runs), and a ``tab`` object: ``tab.selected('jax', ...)`` and
``tab.select('jax')``. The framework comes from ``TABBOOK_FRAMEWORK`` (the engine sets it in
every kernel it starts), else from ``tab.select(...)``: it is never guessed from the kernel's
environment, whose name is the book's business.
"""
from __future__ import annotations

import os
import threading
import time

from .markup import split_names


class Tab:
    def __init__(self, framework: str | None = None):
        self.framework = framework

    @staticmethod
    def detect() -> str | None:
        return os.environ.get("TABBOOK_FRAMEWORK") or None

    def select(self, name: str) -> None:
        self.framework = name

    def _current(self) -> str:
        if not self.framework:
            raise RuntimeError("no framework selected: call tab.select('<framework>') or set "
                               "TABBOOK_FRAMEWORK in the kernel's environment")
        return self.framework

    def selected(self, *names: str) -> bool:
        if not names:
            raise TypeError("tab.selected() needs at least one framework name")
        return self._current() in names

    def __repr__(self) -> str:
        return f"<tab: {self.framework or 'no framework selected'}>"


def _exit_with_build(pid: int) -> None:
    """Kernel started by a tabbook build: exit when the build process is gone (even if killed)."""
    def watch():
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass
            time.sleep(1)

    if not any(t.name == "tabbook-build-watch" for t in threading.enumerate()):
        threading.Thread(target=watch, name="tabbook-build-watch", daemon=True).start()


def load_ipython_extension(ipython) -> None:
    from IPython.core.magic import register_cell_magic

    if os.environ.get("TABBOOK_BUILD_PID", "").isdigit():
        _exit_with_build(int(os.environ["TABBOOK_BUILD_PID"]))

    tab = ipython.user_ns.get("tab")
    if not isinstance(tab, Tab):
        tab = Tab(Tab.detect())
        ipython.push({"tab": tab})

    @register_cell_magic("tab")
    def tab_magic(line: str, cell: str):
        names = split_names(line)
        if not names:
            raise ValueError("%%tab needs framework names, e.g. %%tab pytorch, mxnet (or %%tab all)")
        if "all" in names or tab.selected(*names):
            return ipython.run_cell(cell).result
        return None
