"""The exported per-framework notebook of every page runs top to bottom in its framework's kernel.

The notebooks are the ones readers download or open in Colab (`_build/html/_notebooks/`). Their
install cell (id `install`) installs d2l_support from the repository URL at the commit the site was
built from; here the kernel's environment already has it (editable), so that cell is left out.
Installing from a checkout is tested in tests/cicd. Their markdown is plain Jupyter Markdown: no
MyST syntax is left, and every link to the site leads to a page and anchor of the built site.
"""
import concurrent.futures
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup

from tabbook.config import load_config
from tabbook.layout import Layout

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
    install = [c for c in nb.cells if c.get('id') == 'install']
    assert len(install) == 1 and 'd2l_support' in install[0].source, path
    nb.cells = [c for c in nb.cells if c.get('id') != 'install']
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
                assert '{fw-block}' not in prose(cell.source), path


def prose(markdown):
    """A markdown cell without its code: fenced code blocks whose info string is not a MyST
    directive (``{name}``) and inline code spans are blanked out."""
    out, fence = [], None
    for line in markdown.split('\n'):
        m = re.match(r'^\s*(`{3,}|~{3,}|:{3,})\s*(.*)$', line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not m.group(2).strip():
                fence = None
            out.append('')
        elif m and not m.group(2).startswith('{'):
            fence = m.group(1)
            out.append('')
        else:
            out.append(line)
    # a backtick run right after `{name}` opens a role's content, which is not code
    return re.sub(r'(\{[A-Za-z][\w:.+-]*\})?(`+)(?!`).+?(?<!`)\2(?!`)',
                  lambda m: m.group(1) + '`' if m.group(1) else '', '\n'.join(out), flags=re.S)


MYST_ONLY = [
    ('label', re.compile(r'^\s*\([^()\s]+\)=\s*$', re.M)),
    ('role', re.compile(r'\{[A-Za-z][\w:.+-]*\}`')),
    ('directive', re.compile(r'^\s*(`{3,}|:{3,})\s*\{', re.M)),
    ('math label', re.compile(r'\$\$\s*\([^()\s]+\)\s*$', re.M)),
]


def myst_syntax(nb):
    """(cell id, kind, text) of the MyST-only syntax left in a notebook's markdown."""
    return [(cell.get('id'), kind, m.group(0)) for cell in nb.cells if cell.cell_type == 'markdown'
            for kind, pattern in MYST_ONLY for m in pattern.finditer(prose(cell.source))]


def test_prose_helper_sees_myst_only_outside_code():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        '(lbl)=\n# T\nSee {ref}`lbl` and `{ref}` here.\n\n````md\n```{note}\nx\n```\n````\n\n:::{tip}\ny\n:::')])
    assert [k for _, k, _ in myst_syntax(nb)] == ['label', 'role', 'directive']


def test_exported_markdown_has_no_myst_only_syntax():
    left = [f'{p.relative_to(NOTEBOOKS)} cell {cid}: {kind} {text!r}'
            for p in exported() for cid, kind, text in myst_syntax(nbformat.read(p, as_version=4))]
    assert not left, f'{len(left)} MyST-only constructs in exported notebooks:\n' + '\n'.join(left)


def site_url():
    url = (yaml.safe_load((ROOT / '_config.yml').read_text()).get('html') or {}).get('baseurl')
    assert url, '_config.yml sets no html.baseurl: the exported notebooks cannot link to the site'
    return url.rstrip('/') + '/'


def test_links_to_the_site_resolve_to_pages_and_anchors():
    base, html, seen, broken = site_url(), ROOT / '_build' / 'html', {}, []
    for path in exported():
        nb = nbformat.read(path, as_version=4)
        assert nb.cells[0].cell_type == 'markdown' and f']({base}' in nb.cells[0].source, (
            f'{path}: the first cell does not link back to the page on the site')
        for cell in nb.cells:
            if cell.cell_type != 'markdown':
                continue
            for url in re.findall(r'\]\((https?://[^)\s]+)\)', cell.source):
                if not url.startswith(base):
                    continue
                page, _, anchor = url[len(base):].partition('#')
                target = html / page
                if page not in seen:
                    seen[page] = target.is_file() and BeautifulSoup(target.read_text(encoding='utf-8'),
                                                                    'html.parser')
                soup = seen[page]
                if not soup:
                    broken.append(f'{path.relative_to(NOTEBOOKS)}: {url}: no page {target}')
                elif anchor and soup.find(id=anchor) is None:
                    broken.append(f'{path.relative_to(NOTEBOOKS)}: {url}: {page} has no id {anchor!r}')
    assert seen, 'no exported notebook links to the site'
    assert not broken, '\n'.join(broken)


LABELS = {'pytorch': 'PyTorch', 'tensorflow': 'TensorFlow', 'mxnet': 'MXNet', 'jax': 'JAX'}


@pytest.mark.parametrize('framework', FRAMEWORKS)
def test_notebooks_say_their_framework_and_trainers_ask_for_a_gpu(framework):
    for path in sorted((NOTEBOOKS / framework).glob('chapters/*.ipynb')):
        nb = nbformat.read(path, as_version=4)
        assert nb.cells[0].source.startswith(f'**{LABELS[framework]}** version of '), path
        assert nb.metadata.colab['provenance'] == [] and nb.metadata.colab['name'].endswith('.ipynb'), path
        trains = any('.fit(' in c.source for c in nb.cells if c.cell_type == 'code')
        assert (nb.metadata.get('accelerator') == 'GPU') == trains, (
            f'{path}: trains={trains} but accelerator={nb.metadata.get("accelerator")!r}: set '
            f'`accelerator: gpu` under tabbook: in the front matter of pages that train')
        if trains:
            assert nb.metadata.colab['gpuType'], path


def test_install_cells_name_the_commit_the_site_was_built_from():
    summary = json.loads(Layout.of(load_config(ROOT)).summary.read_text())
    commit = summary.get('commit')
    assert commit and re.fullmatch(r'[0-9a-f]{40}', commit), (
        f'the last build recorded no commit ({commit!r}): build in a git checkout or pass --commit')
    head = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True, text=True)
    if head.returncode == 0 and not os.environ.get('TABBOOK_COMMIT'):
        assert commit == os.environ.get('GITHUB_SHA', head.stdout.strip()), (
            f'the site was built from {commit}, the checkout is at {head.stdout.strip()}: rebuild '
            f'(make html; nothing executes, the notebooks are re-exported)')
    for path in exported():
        nb = nbformat.read(path, as_version=4)
        pins = [re.findall(r'@ git\+\S+@([0-9A-Za-z._/-]+)"', c.source) for c in nb.cells if c.get('id') == 'install']
        assert pins == [[commit]], f'{path.relative_to(NOTEBOOKS)}: install cell pins {pins}, not {commit}'
