"""Clean per-framework notebooks for readers (download / Colab): no tab marks, conditionals
resolved, fw-blocks of other frameworks removed, that framework's outputs and kernelspec, and a
first cell that installs what the framework needs."""
from __future__ import annotations

import copy
import re

import nbformat

from .config import BookConfig, ConfigError, Framework, split_names
from .merge import cells_by_source
from .parse import FW_BLOCK_OPEN, Page, fence_close


def resolve_fw_blocks(text: str, framework: str) -> str:
    """Markdown as ``framework`` readers see it: its fw-blocks unwrapped, the others removed."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = FW_BLOCK_OPEN.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        close = fence_close(m.group(1))
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        if framework in split_names(m.group(2)):
            out.extend(lines[i + 1:j])
        i = j + 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")


def install_command(config: BookConfig, fw: Framework) -> str:
    repo = config.repository
    if not repo.url:
        raise ConfigError("_config.yml: `repository: {url: ..., branch: ...}` is needed for the "
                          "install cell of the exported notebooks")
    cmd = config.notebooks.install.format(extra=fw.extra, repo_url=repo.url, ref=repo.branch)
    return ("%" if cmd.startswith("pip ") else "!") + cmd


def export(page: Page, fw: Framework, executed: nbformat.NotebookNode, config: BookConfig):
    keep_outputs = config.notebooks.outputs == "keep"
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": fw.kernel, "display_name": f"Python 3 ({fw.label})",
                              "language": "python"}
    nb.metadata.language_info = {"name": "python"}
    nb.cells.append(nbformat.v4.new_code_cell(install_command(config, fw), id="install",
                                              metadata={"tags": ["install"]}))
    ran = cells_by_source(executed)
    for cell in page.cells:
        if cell.kind == "markdown":
            text = resolve_fw_blocks(cell.source, fw.name)
            if text.strip():
                nb.cells.append(nbformat.v4.new_markdown_cell(text, id=f"c{cell.index}"))
        elif cell.index in ran:
            src = ran[cell.index]
            md = {k: v for k, v in copy.deepcopy(src.metadata).items() if k != "tabbook"}
            new = nbformat.v4.new_code_cell(src.source, metadata=md, id=f"c{cell.index}")
            if keep_outputs:
                new.outputs = copy.deepcopy(src.outputs)
                new.execution_count = src.execution_count
            nb.cells.append(new)
    return nb
