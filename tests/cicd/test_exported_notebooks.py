"""Readers' path: each framework's exported notebook (`_build/tabbook/notebooks/<fw>/...`) runs on
its own in a fresh environment of that framework, as in Colab or Binder: its first cell installs
d2l_support, here from a copy of this checkout instead of the repository URL."""
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

from cicdlib import FRAMEWORKS, REPO, clean_env, stream_text

pytestmark = pytest.mark.slow

# The requirement the exporter writes into the install cell (the fixture's notebooks.install).
# The test drops the extra: the fresh environment already holds the framework from
# requirements/<fw>.txt (tensorflow-cpu there does not satisfy the extra's `tensorflow`).
GIT_REQUIREMENT = re.compile(r'd2l_support\[[^\]]*\] @ git\+[^"\s]+')


@pytest.fixture(scope="module")
def checkout_copy(tmp_path_factory) -> Path:
    """The installable part of this checkout, copied (pip builds in the source tree)."""
    src = tmp_path_factory.mktemp("checkout")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "d2l_support", src / "d2l_support",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return src


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_exported_notebook_runs_in_a_fresh_environment(binder_envs, exported, checkout_copy,
                                                       framework, tmp_path):
    path = exported / framework / "chapters" / "reader.ipynb"
    assert path.is_file(), f"the exporter wrote no {path}"
    nb = nbformat.read(path, as_version=4)
    kernel = f"d2l-{framework}"
    assert nb.metadata.kernelspec.name == kernel

    install = next((c for c in nb.cells if c.get("id") == "install"), None)
    assert install is not None, f"{path}: no cell with id `install`"
    assert install.cell_type == "code" and "install" in install.metadata.get("tags", []), install
    install.source, found = GIT_REQUIREMENT.subn(f"d2l_support @ {checkout_copy.as_uri()}", install.source)
    assert found == 1, f"no `d2l_support[...] @ git+...` requirement in the install cell: {install.source!r}"
    for cell in nb.cells:
        if cell.cell_type == "code" and cell is not install:
            cell.outputs = []

    # A fresh environment of the framework: its requirements, without d2l_support.
    python = binder_envs.python(framework)
    subprocess.run([str(python), "-m", "pip", "uninstall", "-q", "-y", "d2l_support"], check=True)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json, d2l_support\nprint(json.dumps({'file': d2l_support.__file__}))"))
    start = time.monotonic()
    binder_envs.run(nb, kernel, tmp_path, clean_env())
    print(f"\n{framework}: exported notebook ran in {time.monotonic() - start:.0f} s")

    installed = Path(json.loads(stream_text(nb.cells[-1]))["file"])
    site = binder_envs.env(framework) / "lib"
    assert site in installed.parents, f"d2l_support came from {installed}, not from {site} (install cell)"
    outputs = "".join(stream_text(c) for c in nb.cells[:-1] if c.cell_type == "code" and c is not install)
    assert "total=15.0" in outputs, outputs
