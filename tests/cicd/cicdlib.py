"""Helpers of the CI/CD tests (a module of its own: test modules import it, not conftest)."""
import os
import re
import shutil
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
FRAMEWORKS = ("pytorch", "tensorflow", "mxnet", "jax")
# The framework's import name, which is also the name of its d2l_support module
# (`from d2l_support import torch as d2l`).
PACKAGES = {"pytorch": "torch", "tensorflow": "tensorflow", "mxnet": "mxnet", "jax": "jax"}


class BinderEnvs:
    """What `binder/postBuild` made: virtualenvs under `home/.d2l-envs`, kernels under `server`."""

    def __init__(self, home: Path, server: Path, branch: Path | None = None):
        self.home, self.server, self.branch = home, server, branch
        self.kernel_dir = server / "share" / "jupyter" / "kernels"

    def env(self, framework: str) -> Path:
        return self.home / ".d2l-envs" / framework

    def python(self, framework: str) -> Path:
        return self.env(framework) / "bin" / "python"

    def kernel_specs(self) -> KernelSpecManager:
        """Sees only the kernels registered into the server prefix (no user or system ones)."""
        return KernelSpecManager(kernel_dirs=[str(self.kernel_dir)], ensure_native_kernel=False)

    def run(self, nb: nbformat.NotebookNode, kernel: str, cwd: Path, env: dict, timeout=600):
        """Execute ``nb`` in place with the server's kernel ``kernel``, from ``cwd``; raises
        nbclient's CellExecutionError naming the cell on an error."""
        km = KernelManager(kernel_name=kernel, kernel_spec_manager=self.kernel_specs())
        try:
            NotebookClient(nb, km=km, timeout=timeout, resources={"metadata": {"path": str(cwd)}}).execute(env=env)
        finally:  # nbclient shuts down only the kernels it starts itself
            if km.has_kernel:
                km.shutdown_kernel(now=True)
        return nb


def stream_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def clean_env(**extra) -> dict:
    """This process's environment without PYTHONPATH (nothing may leak in from the checkout)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(extra)
    return env


def notebooks_branch_paths() -> list[str]:
    """What book.yml's `notebooks` job copies from the checkout onto the `notebooks` branch, which
    Binder builds: the paths of its `cp -r ... "$TREE/"` line (read from the workflow, so the
    test follows it)."""
    text = (REPO / ".github" / "workflows" / "book.yml").read_text()
    m = re.search(r'^\s*cp -r (.+?) "\$TREE/"\s*$', text, flags=re.M)
    assert m, "book.yml's notebooks job has no `cp -r ... \"$TREE/\"` line"
    return m.group(1).split()


def notebooks_branch_tree(dest: Path) -> Path:
    """A copy of what the `notebooks` branch holds besides the notebooks (no .git, no .venv)."""
    dest.mkdir(parents=True)
    for name in notebooks_branch_paths():
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    return dest
