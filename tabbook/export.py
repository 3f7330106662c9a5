"""Clean per-framework notebooks for readers (download / Colab).

Each notebook has: a first markdown cell saying which framework it is for and linking back to
the page on the site (``html.baseurl``); when the book sets ``notebooks.install``, an install
cell (id ``install``) that installs what the framework needs from the exact commit the site was
built from (:func:`resolve_pin`); then the
page for that framework only: no tab marks, conditionals resolved, fw-blocks of other frameworks
removed, its markdown turned into plain Jupyter Markdown (:mod:`.jupyter_markdown`), that
framework's outputs and kernelspec. ``metadata.colab`` names the notebook for Colab, and a page
whose front matter says ``tabbook: {accelerator: gpu}`` asks Colab for a GPU runtime.
"""
from __future__ import annotations

import copy
import os
import re
import subprocess
from dataclasses import dataclass

import nbformat

from .config import BookConfig, ConfigError, Framework
from .jupyter_markdown import LabelIndex, MarkdownConverter, Site, link
from .markup import resolve_fw_blocks  # noqa: F401 (part of this module's API)
from .merge import cells_by_source
from .parse import Page, SourceError

COMMIT = re.compile(r"^[0-9a-f]{40}$")
ACCELERATORS = {"gpu": ("GPU", "T4"), "none": None, "cpu": None}  # front matter -> Colab runtime


# ------------------------------------------------------------------------------ install pin

@dataclass(frozen=True)
class Pin:
    """What the install cell installs: ``ref`` (a commit, or the branch as a fallback)."""
    ref: str
    commit: str | None  # the 40-hex commit, None when falling back to the branch
    source: str  # where it came from, for the build log
    warning: str = ""


def resolve_pin(config: BookConfig) -> Pin:
    """The commit the notebooks install from, in this order: ``config.commit`` (``--commit``),
    ``$TABBOOK_COMMIT``, ``$GITHUB_SHA`` (CI), ``git rev-parse HEAD`` in the book root. Without
    any, the repository's branch, with a warning: the notebooks then install whatever the branch
    holds when a reader runs them, not what the site shows."""
    for value, source in ((config.commit, "--commit"), (os.environ.get("TABBOOK_COMMIT"), "TABBOOK_COMMIT"),
                          (os.environ.get("GITHUB_SHA"), "GITHUB_SHA")):
        if value:
            value = value.strip().lower()
            if not COMMIT.match(value):
                raise ConfigError(f"{source}: {value!r} is not a full commit id (40 hex digits); "
                                  f"pass the output of `git rev-parse <ref>`")
            return Pin(value, value, source)
    try:
        proc = subprocess.run(["git", "-C", str(config.root), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=30)
        head = proc.stdout.strip() if proc.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        head = ""
    if COMMIT.match(head):
        return Pin(head, head, "git rev-parse HEAD")
    branch = config.repository.branch
    return Pin(branch, None, "repository.branch", warning=(
        f"no commit for {config.root} (not a git checkout, or no git): the exported notebooks "
        f"install the book's library from the branch {branch!r}, not from the commit this site was built "
        f"from; build in a git checkout, or pass --commit <40-hex id> (or set TABBOOK_COMMIT)"))


def install_command(config: BookConfig, fw: Framework, ref: str | None = None) -> str:
    """The install cell's command (``notebooks.install`` filled in; "" when the book sets none);
    ``ref`` defaults to the repository's branch."""
    repo = config.repository
    template = config.notebooks.install
    if not template:
        return ""
    if not repo.url and "{repo_url}" in template:
        raise ConfigError("_config.yml: `repository: {url: ..., branch: ...}` is needed for the "
                          "install cell of the exported notebooks")
    cmd = template.format(extra=fw.extra, repo_url=repo.url, ref=ref or repo.branch)
    return ("%" if cmd.startswith("pip ") else "!") + cmd


# ------------------------------------------------------------------------------ front matter

def page_accelerator(page: Page) -> tuple[str, str] | None:
    """Colab's (accelerator, gpuType) for a page, from ``tabbook: {accelerator: gpu}`` in its
    front matter; raises :class:`SourceError` (at the key's line) for an unknown value."""
    value = (page.metadata.get("tabbook") or {}).get("accelerator")
    if value is None:
        return None
    key = str(value).strip().lower()
    if key not in ACCELERATORS:
        lines = page.text.split("\n")
        line = next((n for n, ln in enumerate(lines, 1) if re.match(r"\s*accelerator\s*:", ln)), 1)
        raise SourceError(page.rel, line, f"front matter tabbook.accelerator: {value!r} is not one "
                          f"of {', '.join(ACCELERATORS)} (gpu: Colab opens the notebooks with a GPU)")
    return ACCELERATORS[key]


# ---------------------------------------------------------------------------------- export

def site_for(config: BookConfig, pages) -> Site:
    """Where the exported notebooks link to: ``html.baseurl`` and the labels of ``pages``."""
    return Site(config.baseurl, LabelIndex.from_pages(config.root, [p.path if isinstance(p, Page) else p
                                                                    for p in pages]))


def intro(page: Page, fw: Framework, config: BookConfig, site: Site) -> str:
    """The first cell: which framework the notebook is for, and the page it comes from."""
    title = site.index.titles.get(page.docname, page.docname)
    url = site.url(page.docname)
    if config.title and config.title != title:
        where = f"{link(title, url)} from *{config.title}*"
    else:
        where = link(f"*{title}*", url)
    return f"**{fw.label}** version of {where}."


def export(page: Page, fw: Framework, executed: nbformat.NotebookNode, config: BookConfig, *,
           site: Site | None = None, ref: str | None = None, warn=None) -> nbformat.NotebookNode:
    """The reader's notebook of ``page`` for ``fw``. ``site``: the book's links (default: this
    page alone); ``ref``: what the install cell installs (default: the repository's branch);
    ``warn``: receives the conversion's warnings (``path:line: message``)."""
    site = site or site_for(config, [page])
    keep_outputs = config.notebooks.outputs == "keep"
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": fw.kernel, "display_name": f"Python 3 ({fw.label})",
                              "language": "python"}
    nb.metadata.language_info = {"name": "python"}
    name = page.docname.rsplit("/", 1)[-1]
    nb.metadata.colab = {"provenance": [], "name": f"{name} ({fw.label}).ipynb", "toc_visible": True}
    accelerator = page_accelerator(page)
    if accelerator:
        nb.metadata.accelerator, nb.metadata.colab["gpuType"] = accelerator
    nb.cells.append(nbformat.v4.new_markdown_cell(intro(page, fw, config, site), id="about"))
    install = install_command(config, fw, ref)
    if install:
        nb.cells.append(nbformat.v4.new_code_cell(install, id="install", metadata={"tags": ["install"]}))
    converter = MarkdownConverter(site, page.docname, page.rel, warn)
    ran = cells_by_source(executed)
    for cell in page.cells:
        if cell.kind == "markdown":
            text = converter.convert(resolve_fw_blocks(cell.source, fw.name), cell.line)
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
