import nbformat

import json
import subprocess

import pytest

from tabbook.build import build
from tabbook.cache import Cache, cache_key, deps_digests
from tabbook.config import ConfigError
from tabbook.export import export, install_command, page_accelerator, resolve_fw_blocks, resolve_pin, site_for
from tabbook.parse import SourceError
from tabbook.layout import Layout
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
    assert [c.id for c in nb.cells[:2]] == ["about", "install"]
    assert nb.cells[0].source == "**JAX** version of *T*."
    assert nb.cells[1].source == '%pip install "d2l_support[jax] @ git+https://github.com/o/r@dev"'
    assert [c.source for c in nb.cells[2:]] == ["# T", "print('same')", "print('other')", "Only JAX.", "x = 1"]
    assert nb.cells[3].outputs[0].text == "same\n"
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


def test_resolve_fw_blocks_keeps_examples_in_code_fences():
    text = "````md\n```{fw-block} mxnet\nExample.\n```\n````\n\n```{fw-block} mxnet\nReal.\n```"
    assert resolve_fw_blocks(text, "jax") == "````md\n```{fw-block} mxnet\nExample.\n```\n````"
    assert resolve_fw_blocks(text, "mxnet").endswith("````\n\nReal.")


SHA = "0123456789abcdef0123456789abcdef01234567"


def test_export_links_to_the_site_and_names_the_framework(tmp_path):
    config, page, ran = _page(tmp_path)
    config.baseurl, config.title = "https://o.github.io/r/", "The Book"
    nb = export(page, config.frameworks["pytorch"], ran["pytorch"], config, ref=SHA)
    assert nb.cells[0].source == "**PyTorch** version of [T](https://o.github.io/r/ch/p.html) from *The Book*."
    assert nb.cells[1].source == f'%pip install "d2l_support[torch] @ git+https://github.com/o/r@{SHA}"'
    assert nb.metadata.colab == {"provenance": [], "name": "p (PyTorch).ipynb", "toc_visible": True}
    assert "accelerator" not in nb.metadata
    nbformat.validate(nb)


def test_front_matter_asks_colab_for_a_gpu(tmp_path):
    config = make_config(tmp_path)
    front = "---\ntabbook:\n  frameworks: [pytorch, jax]\n  accelerator: gpu\n---\n"
    page = parse_page(write_page(tmp_path, "ch/p.md", BODY, front=front), config)
    ran = {fw: _fake_run(s) for fw, s in split_page(page, config.frameworks).items()}
    nb = export(page, config.frameworks["jax"], ran["jax"], config)
    assert nb.metadata.accelerator == "GPU" and nb.metadata.colab["gpuType"] == "T4"
    bad = parse_page(write_page(tmp_path, "ch/q.md", BODY, front=front.replace("gpu", "quantum")), config)
    with pytest.raises(SourceError, match=r"ch/q.md:4: front matter tabbook.accelerator: 'quantum'"):
        page_accelerator(bad)


def test_pin_prefers_the_override_then_ci_then_git(tmp_path, monkeypatch):
    config = make_config(tmp_path)
    monkeypatch.delenv("TABBOOK_COMMIT", raising=False)
    monkeypatch.setenv("GITHUB_SHA", SHA.upper())
    assert resolve_pin(config).ref == SHA and resolve_pin(config).source == "GITHUB_SHA"
    monkeypatch.setenv("TABBOOK_COMMIT", "f" * 40)
    assert resolve_pin(config).ref == "f" * 40
    config.commit = "e" * 40
    assert resolve_pin(config).commit == "e" * 40
    config.commit = "main"
    with pytest.raises(ConfigError, match=r"--commit: 'main' is not a full commit id \(40 hex digits\)"):
        resolve_pin(config)


def test_pin_reads_git_head_and_else_falls_back_to_the_branch(tmp_path, monkeypatch):
    monkeypatch.delenv("TABBOOK_COMMIT", raising=False)
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    config = make_config(tmp_path)
    pin = resolve_pin(config)
    assert (pin.ref, pin.commit) == ("dev", None) and "--commit" in pin.warning
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["commit", "-q", "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run(git[:3] + ["rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    pin = resolve_pin(config)
    assert (pin.ref, pin.commit, pin.warning) == (head, head, "")


def test_every_build_rewrites_the_pin_without_executing(tmp_path, monkeypatch):
    """The commit is no part of a cache key: a new commit re-exports cached results."""
    config, page, ran = _page(tmp_path)
    (tmp_path / "_toc.yml").write_text("root: ch/p\n")
    cache = Cache(Layout.of(config).cache)
    for fw, split in split_page(page, config.frameworks).items():
        key = cache_key(split, deps_digests(config.frameworks[fw], config.root), config.device)
        ran[fw].metadata.tabbook = {"key": key}
        cache.put(key, ran[fw])
    notebook = Layout.of(config).notebook("jax", "ch/p")
    for commit in ("a" * 40, "b" * 40):
        monkeypatch.setenv("TABBOOK_COMMIT", commit)
        summary = build(config, run=False)
        assert summary.ok and {j.status for j in summary.jobs} == {"cached"}
        assert notebook.read_text().count(f"@{commit}") == 1
        assert json.loads(Layout.of(config).summary.read_text())["commit"] == commit


def test_site_for_indexes_every_page(tmp_path):
    config = make_config(tmp_path)
    a = write_page(tmp_path, "ch/a.md", "(sec-a)=\n# A\n\nSee {ref}`sec-b`.\n")
    b = write_page(tmp_path, "ch/b.md", "(sec-b)=\n# Page B\n", front="")
    config.baseurl = "https://x.org/"
    page = parse_page(a, config)
    ran = {fw: _fake_run(s) for fw, s in split_page(page, config.frameworks).items()}
    nb = export(page, config.frameworks["jax"], ran["jax"], config, site=site_for(config, [a, b]))
    assert nb.cells[-1].source == "# A\n\nSee [Page B](https://x.org/ch/b.html#sec-b)."


def test_load_config_reads_title_and_baseurl(tmp_path):
    from tabbook.config import load_config
    fws = "sphinx:\n  config:\n    tabbook:\n      frameworks: {jax: {kernel: k}}\n"
    (tmp_path / "_config.yml").write_text("title: B\nhtml:\n  baseurl: https://o.github.io/r\n" + fws)
    config = load_config(tmp_path)
    assert (config.title, config.baseurl) == ("B", "https://o.github.io/r/")
    (tmp_path / "_config.yml").write_text("html:\n  baseurl: o.github.io/r\n" + fws)
    with pytest.raises(ConfigError, match=r"_config.yml: html.baseurl must be the site's absolute URL"):
        load_config(tmp_path)
