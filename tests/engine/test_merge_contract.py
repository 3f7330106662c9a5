"""merge() meets the merged-notebook contract (docs/merged-notebook.md), and the contract's
checker notices when a notebook does not."""
import copy
from pathlib import Path

import nbformat
import pytest

from tabbook.merge import contract_violations, merge
from tabbook.parse import parse_page
from tabbook.split import split_page
from enginelib import REPO, line_of, write_page

PAGE = """# Contract

Shared prose.

```{code-cell} ipython3
:tags: [hide-input]
same = 1
```

```{code-cell} ipython3
differs = 2
```

```{code-cell} ipython3
%%tab jax
only_jax = 3
```

````{fw-block} pytorch
Only PyTorch readers see this.
````

```{code-cell} ipython3
if tab.selected('pytorch'):
    torch_only = 4
```
"""


def _executed(page, config):
    """Each framework's notebook with an output per cell: the same text for cells named
    ``same``, a framework-specific one otherwise."""
    out = {}
    for fw, split in split_page(page, config.frameworks).items():
        nb = split.to_notebook()
        for n, cell in enumerate(nb.cells, 1):
            text = "same\n" if cell.source.startswith("same") else f"{fw}: {cell.source}\n"
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
            cell.execution_count = n
        out[fw] = nb
    return out


@pytest.fixture
def merged(tmp_path, config):
    path = write_page(tmp_path, "c.md", PAGE)
    page = parse_page(path, config)
    return path, page, merge(page, _executed(page, config))


def test_merge_meets_the_contract(merged):
    path, page, nb = merged
    assert contract_violations(nb) == []
    assert nb.metadata.tabbook.source == "c.md" and nb.metadata.tabbook.source_sha256 == page.sha256
    assert nb.metadata.tabbook.frameworks == ["pytorch", "jax"]
    assert len(nb.metadata.source_map) == len(nb.cells)
    code = [(c.metadata.tabbook.get("framework", "shared"), c.source) for c in nb.cells if c.cell_type == "code"]
    assert code == [("shared", "same = 1"), ("pytorch", "differs = 2"), ("jax", "differs = 2"),
                    ("jax", "only_jax = 3"), ("pytorch", "torch_only = 4")]  # jax has no code for the last
    shared = next(c for c in nb.cells if c.cell_type == "code")
    assert shared.metadata.tags == ["hide-input"] and shared.id == f"c{shared.metadata.tabbook.source_cell}"
    assert shared.metadata.tabbook.line == line_of(path, "same = 1")
    jax_only = next(c for c in nb.cells if c.source == "only_jax = 3")
    assert jax_only.metadata.tabbook.line == line_of(path, "only_jax = 3")  # after the %%tab line
    assert jax_only.outputs[0].text == "jax: only_jax = 3\n"
    prose = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert any("````{fw-block} pytorch\nOnly PyTorch readers see this.\n````" in p for p in prose)


@pytest.mark.parametrize("breakage, complaint", [
    (lambda nb: nb.metadata.tabbook.pop("source_sha256"), "source_sha256"),
    (lambda nb: nb.metadata.source_map.pop(), "source_map"),
    (lambda nb: nb.cells.reverse(), "not in page order"),
    (lambda nb: _code(nb, 1).metadata.tabbook.update(framework="mxnet"), "'mxnet' is not one of"),
    (lambda nb: _code(nb, 0).metadata.tabbook.update(framework="jax"), "exactly one of shared / framework"),
    (lambda nb: _code(nb, 0).metadata.tabbook.pop("line"), "needs source_cell and line"),
    (lambda nb: nb.cells.insert(_index(nb, 2), nb.cells.pop(_index(nb, 1))), "not in the page's order"),
])
def test_contract_checker_notices_breakage(merged, breakage, complaint):
    nb = copy.deepcopy(merged[2])
    breakage(nb)
    assert any(complaint in v for v in contract_violations(nb)), contract_violations(nb)


def _index(nb, k):
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code"][k]


def _code(nb, k):
    return nb.cells[_index(nb, k)]


def test_contract_is_written_down_and_merge_points_to_it():
    doc = (REPO / "docs" / "merged-notebook.md").read_text(encoding="utf-8")
    for key in ("source_sha256", "source_map", "source_cell", "shared", "framework", "line"):
        assert f"`{key}" in doc or f".{key}" in doc, key
    import tabbook.merge
    assert "docs/merged-notebook.md" in Path(tabbook.merge.__file__).read_text(encoding="utf-8")
