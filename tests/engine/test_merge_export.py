import nbformat

from tabbook.export import export, install_command, resolve_fw_blocks
from tabbook.merge import merge
from tabbook.parse import parse_page
from tabbook.split import split_page
from enginelib import make_config, write_page

BODY = """# T

```{code-cell}
:tags: [hide-input]
print('same')
```

```{code-cell}
if tab.selected('pytorch'):
    print('torch')
else:
    print('other')
```

````{fw-block} jax
Only JAX.
````

```{code-cell}
%%tab jax
x = 1
```
"""


def _fake_run(split):
    """An executed notebook whose outputs echo the code (stands in for a kernel here)."""
    nb = split.to_notebook()
    for i, c in enumerate(nb.cells, 1):
        c.execution_count = i
        c.outputs = [nbformat.v4.new_output("stream", name="stdout", text=c.source.split("'")[1] + "\n")] \
            if "print" in c.source else []
    return nb


def _page(tmp_path, **cfg):
    config = make_config(tmp_path, **cfg)
    page = parse_page(write_page(tmp_path, "ch/p.md", BODY), config)
    return config, page, {fw: _fake_run(s) for fw, s in split_page(page, config.frameworks).items()}


def test_merge_shared_and_framework_cells(tmp_path):
    config, page, ran = _page(tmp_path)
    nb = merge(page, ran)
    assert nb.metadata.tabbook == {"frameworks": ["pytorch", "jax"], "source": "ch/p.md",
                                  "source_sha256": page.sha256}
    assert nb.metadata.kernelspec["name"] == "python3"
    kinds = [(c.cell_type, c.metadata.get("tabbook", {}).get("framework", c.metadata.get("tabbook", {})
                                                            .get("shared"))) for c in nb.cells]
    assert kinds == [("markdown", None), ("code", True), ("code", "pytorch"), ("code", "jax"),
                     ("markdown", None), ("code", "jax")]
    assert nb.cells[1].metadata["tags"] == ["hide-input"]
    assert nb.cells[2].source == "print('torch')" and nb.cells[2].outputs[0].text == "torch\n"
    assert nb.cells[3].source == "print('other')" and nb.cells[3].outputs[0].text == "other\n"
    assert nb.cells[4].source == page.cells[3].source  # fw-block verbatim
    assert len(nb.metadata.source_map) == len(nb.cells)
    assert nb.metadata.source_map[2] == nb.metadata.source_map[3] == page.cells[2].directive_line
    assert nb.cells[5].metadata["tabbook"]["line"] == page.cells[4].line
    nbformat.validate(nb)


def test_shared_cell_with_different_outputs_is_split(tmp_path):
    config, page, ran = _page(tmp_path)
    ran["jax"].cells[0].outputs[0].text = "different\n"
    nb = merge(page, ran)
    assert [c.metadata["tabbook"].get("framework") for c in nb.cells[1:3]] == ["pytorch", "jax"]


def test_export_is_clean(tmp_path):
    config, page, ran = _page(tmp_path)
    nb = export(page, config.frameworks["jax"], ran["jax"], config)
    text = nbformat.writes(nb)
    assert "%%tab" not in text and "tab.selected" not in text and "fw-block" not in text
    assert nb.metadata.kernelspec["name"] == "d2l-jax"
    assert nb.cells[0].source == '%pip install "d2l_support[jax] @ git+https://github.com/o/r@dev"'
    assert [c.source for c in nb.cells[1:]] == ["# T", "print('same')", "print('other')", "Only JAX.", "x = 1"]
    assert nb.cells[2].outputs[0].text == "same\n"
    torch = export(page, config.frameworks["pytorch"], ran["pytorch"], config)
    assert "Only JAX." not in nbformat.writes(torch) and "x = 1" not in nbformat.writes(torch)
    nbformat.validate(nb)


def test_export_can_strip_outputs(tmp_path):
    config, page, ran = _page(tmp_path, notebooks={"outputs": "strip"})
    nb = export(page, config.frameworks["pytorch"], ran["pytorch"], config)
    assert all(not c.outputs and c.execution_count is None for c in nb.cells if c.cell_type == "code")


def test_install_command_uses_template(tmp_path):
    config = make_config(tmp_path, notebooks={"install": "pip install mylib[{extra}]=={ref}"})
    assert install_command(config, config.frameworks["pytorch"]) == "%pip install mylib[torch]==dev"


def test_resolve_fw_blocks_several_names():
    text = "a\n\n```{fw-block} mxnet, jax\nb\n```\n\n:::{fw-block} pytorch\nc\n:::\nd"
    assert resolve_fw_blocks(text, "jax") == "a\n\nb\n\nd"
    assert resolve_fw_blocks(text, "pytorch") == "a\n\nc\nd"
