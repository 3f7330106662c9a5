"""Binder builds the same four framework kernels as `make envs`, each in its own virtualenv."""
import json

import nbformat
import pytest

from cicdlib import FRAMEWORKS, PACKAGES, REPO, clean_env, stream_text

pytestmark = pytest.mark.slow


def pinned_version(framework: str) -> str:
    """The version requirements/<framework>.txt pins for the framework's package."""
    package = PACKAGES[framework]
    for line in (REPO / "requirements" / f"{framework}.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        if name.strip() in (package, f"{package}-cpu"):
            return version.strip()
    raise AssertionError(f"requirements/{framework}.txt pins no {package}")


def test_postbuild_registers_one_kernel_per_framework(binder_envs):
    specs = binder_envs.kernel_specs().get_all_specs()
    assert sorted(specs) == sorted(f"d2l-{fw}" for fw in FRAMEWORKS)
    for fw in FRAMEWORKS:
        argv = specs[f"d2l-{fw}"]["spec"]["argv"]
        # Each kernel runs its own virtualenv's interpreter, not the server's.
        assert argv[0] == str(binder_envs.python(fw)), (fw, argv)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_kernel_imports_its_framework_and_d2l_support(binder_envs, framework, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(
        "import importlib, json, sys\n"
        f"fw = importlib.import_module({PACKAGES[framework]!r})\n"
        f"d2l = importlib.import_module('d2l_support.{PACKAGES[framework]}')\n"
        "print(json.dumps({'prefix': sys.prefix, 'version': fw.__version__, 'module': d2l.__name__}))"))
    binder_envs.run(nb, f"d2l-{framework}", tmp_path, clean_env())
    out = json.loads(nb.cells[0].outputs[-1]["text"])
    assert out["prefix"] == str(binder_envs.env(framework))
    assert out["version"].split("+")[0] == pinned_version(framework)
    assert out["module"] == f"d2l_support.{PACKAGES[framework]}"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_kernel_runs_the_first_code_cells_of_an_exported_notebook(binder_envs, exported, framework):
    """As a Binder reader: the notebook opened from the branch (`<framework>/<docname>.ipynb`) in
    its kernel, the install cell skipped (the image already has d2l_support), its first two code
    cells run; the second one prints the page's result."""
    nb = nbformat.read(exported / framework / "chapters" / "reader.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.get("id") != "install"]
    assert len(code) >= 2, f"{framework}: the exported notebook has {len(code)} code cell(s) after the install cell"
    for cell in code:
        cell.outputs = []
    where = binder_envs.branch / framework / "chapters"
    where.mkdir(parents=True, exist_ok=True)
    nb.cells = code[:2]
    binder_envs.run(nb, f"d2l-{framework}", where, clean_env())
    assert "total=15.0" in stream_text(nb.cells[1]), (framework, nb.cells[1].outputs)
