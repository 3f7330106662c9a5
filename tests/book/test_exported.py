"""The exported per-framework notebook of every page runs top to bottom in its framework's kernel.

The notebooks are the ones readers download or open in Colab (`_build/html/_notebooks/`). Their
first cell installs d2l_support from the repository URL; here the kernel's environment already has
it (editable), so that cell is left out. Installing from a checkout is tested in tests/cicd.
"""
import concurrent.futures
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / '_build' / 'html' / '_notebooks'
JUPYTER = Path(sys.executable).parent / 'jupyter'
FRAMEWORKS = ['pytorch', 'tensorflow', 'mxnet', 'jax']


def exported():
    found = sorted(NOTEBOOKS.glob('*/chapters/*.ipynb'))
    assert found, f'no exported notebooks under {NOTEBOOKS}: build the book first (make html)'
    return found


def run(path, workdir):
    framework = path.relative_to(NOTEBOOKS).parts[0]
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].id == 'install' and 'd2l_support' in nb.cells[0].source
    nb.cells = nb.cells[1:]
    target = workdir / framework / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    proc = subprocess.run(
        [str(JUPYTER), 'execute', f'--kernel_name=d2l-{framework}', '--timeout=900', target.name],
        cwd=target.parent, capture_output=True, text=True, env=kernel_env())
    return path, proc


WORKERS = os.cpu_count() or 2


def kernel_env():
    """As the book build does: kernels running side by side share the CPUs."""
    return dict(os.environ, D2L_NUM_THREADS=os.environ.get('D2L_NUM_THREADS') or
                str(max(1, (os.cpu_count() or 2) // WORKERS)))


def test_every_exported_notebook_runs_in_its_kernel(tmp_path):
    paths = exported()
    assert {p.relative_to(NOTEBOOKS).parts[0] for p in paths} == set(FRAMEWORKS)
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for path, proc in pool.map(lambda p: run(p, tmp_path), paths):
            print(f'{path.relative_to(NOTEBOOKS)}: exit {proc.returncode}')
            if proc.returncode:
                failures.append(f'{path.relative_to(NOTEBOOKS)}:\n{proc.stderr[-2000:]}')
    assert not failures, '\n\n'.join(failures)


@pytest.mark.parametrize('framework', FRAMEWORKS)
def test_exported_notebooks_are_clean(framework):
    for path in sorted((NOTEBOOKS / framework).glob('chapters/*.ipynb')):
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata.kernelspec.name == f'd2l-{framework}', path
        for cell in nb.cells:
            if cell.cell_type == 'code':
                assert not cell.source.lstrip().startswith('%%tab'), path
                assert 'tab.selected(' not in cell.source, path
            else:
                assert '{fw-block}' not in cell.source, path
