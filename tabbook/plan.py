"""The first stage of every build: discover the pages, parse them, split them per framework,
check each framework's code compiles, and key every (page, framework) notebook.

``build()`` (execute, merge, export) and ``merge-results`` (import results executed elsewhere)
both start from :func:`make_plan`, so they agree on which pages there are, what each framework
runs and under which cache key.
"""
from __future__ import annotations

import ast
import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

from .cache import cache_key, deps_digests
from .config import BookConfig, ConfigError
from .export import page_accelerator
from .parse import Page, SourceError, has_tabbook_content, parse_page
from .split import SplitNotebook, split_page


@dataclass
class PagePlan:
    page: Page
    splits: dict[str, SplitNotebook]  # every framework of the page
    keys: dict[str, str]  # framework -> cache key


@dataclass
class Plan:
    pages: list[PagePlan] = field(default_factory=list)  # pages the engine executes, in TOC order
    errors: dict[str, str] = field(default_factory=dict)  # page rel -> formatted SourceError
    plain: dict[str, Page] = field(default_factory=dict)  # pages without code or framework markup
    partial: bool = False  # planned for --pages: the book's other pages were not looked at

    def page(self, rel: str) -> PagePlan | None:
        return next((p for p in self.pages if p.page.rel == rel), None)


# --------------------------------------------------------------------------------- the TOC

def toc_files(config: BookConfig) -> list[Path] | None:
    """The ``.md`` files of ``_toc.yml`` in reading order, read by sphinx-external-toc (as
    jupyter-book reads it; ``glob:`` entries expanded, sorted); None without a ``_toc.yml``."""
    toc = Path(config.root) / "_toc.yml"
    if not toc.is_file():
        return None
    from sphinx_external_toc.api import GlobItem, UrlItem
    from sphinx_external_toc.parsing import parse_toc_yaml

    try:
        site_map = parse_toc_yaml(toc)
    except Exception as e:  # sphinx-external-toc raises MalformedError and YAML errors
        raise ConfigError(f"{toc}: cannot read the table of contents: {e}") from None
    root = Path(config.root)
    out: list[str] = []
    seen: set[str] = set()

    def visit(docname: str) -> None:
        if docname in seen:
            return
        seen.add(docname)
        out.append(docname)
        doc = site_map[docname] if docname in site_map else None
        for subtree in getattr(doc, "subtrees", ()):
            for item in subtree.items:
                if isinstance(item, UrlItem):
                    continue
                if isinstance(item, GlobItem):
                    matched = sorted(p.relative_to(root).with_suffix("").as_posix()
                                     for p in root.glob(str(item) + ".md")
                                     if not any(part.startswith((".", "_"))
                                                for part in p.relative_to(root).parts))
                    for name in matched:
                        visit(name)
                else:
                    visit(str(item))

    visit(site_map.root.docname)
    paths = []
    for name in out:
        p = root / name
        p = p if p.suffix == ".md" else p.with_name(p.name + ".md")
        if p.is_file():
            paths.append(p)
    return paths


def discover_pages(config: BookConfig, patterns=None) -> list[Path]:
    """The book's ``.md`` pages (from ``_toc.yml``, else every .md), filtered by glob patterns."""
    root = Path(config.root)
    paths = toc_files(config)
    if paths is None:
        paths = sorted(p for p in root.rglob("*.md")
                       if not any(part.startswith((".", "_")) for part in p.relative_to(root).parts[:-1]))
    if patterns:
        paths = [p for p in paths if any(fnmatch.fnmatch(p.relative_to(root).as_posix(), pat)
                                         for pat in patterns)]
    return list(dict.fromkeys(paths))


def check_patterns(config: BookConfig, patterns) -> None:
    """Every ``--pages`` pattern must match a page of the book."""
    if not patterns:
        return
    rels = [p.relative_to(config.root).as_posix() for p in discover_pages(config)]
    for pat in patterns:
        if not any(fnmatch.fnmatch(r, pat) for r in rels):
            import difflib
            close = difflib.get_close_matches(pat, rels, n=3)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise ConfigError(f"--pages {pat}: matches no page of the table of contents (paths are "
                              f"relative to the book root, e.g. {rels[0] if rels else 'chapters/x.md'}){hint}")


# ------------------------------------------------------------------------- compile checks

def _language(kernel: str) -> str | None:
    try:
        from jupyter_client.kernelspec import KernelSpecManager
        return KernelSpecManager().get_kernel_spec(kernel).language
    except Exception:  # no such kernel: reported when executing
        return None


def _python_source(code: str) -> str:
    """A cell as the IPython kernel runs it: magics and shell escapes become calls."""
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager().transform_cell(code)


def compile_errors(page: Page, splits: dict[str, SplitNotebook], languages: dict[str, str | None]) -> list[SourceError]:
    """Each framework's resolved Python cells compiled; one error per cause (page line and
    message), naming every framework it occurs in."""
    found: dict[tuple[int, str], list] = {}
    for name, split in splits.items():
        if (languages.get(name) or "python") != "python":
            continue
        for c in split.cells:
            try:
                compile(_python_source(c.code), f"{page.rel} [{name}]", "exec",
                        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
            except SyntaxError as e:
                cell = page.cells[c.source_cell]

                def page_line(n, cell=cell, c=c):  # a line of the resolved cell -> page line
                    return cell.line + c.lines[n - 1] - 1 if 1 <= n <= len(c.lines) else cell.line

                line = page_line(e.lineno or 1)
                # Python names other lines of the cell too ("... after 'if' statement on line 3"):
                # those become page lines as well, so every number in the message is the page's.
                msg = re.sub(r"\bon line (\d+)", lambda m: f"on line {page_line(int(m.group(1)))}",
                             str(e.msg))
                what = f"{type(e).__name__}: {msg}"
                found.setdefault((line, what), [cell, []])[1].append(name)
    return [SourceError(page.rel, line, f"{what} (found before running any kernel; fix the page line)",
                        framework=", ".join(fws), cell=cell.source)
            for (line, what), (cell, fws) in sorted(found.items(), key=lambda kv: kv[0][0])]


# ---------------------------------------------------------------------------------- plan

def make_plan(config: BookConfig, patterns=None, *, compile_check: bool = True) -> Plan:
    """Parse, split, check and key every page matching ``patterns`` (all pages by default)."""
    plan = Plan(partial=bool(patterns))
    deps: dict[str, dict] = {}
    languages: dict[str, str | None] = {}
    for path in discover_pages(config, patterns):
        rel = path.relative_to(config.root).as_posix()
        try:
            page = parse_page(path, config)
            if not has_tabbook_content(page):
                plan.plain[rel] = page
                continue
            splits = split_page(page, config.frameworks)
            page_accelerator(page)  # front matter of the exported notebooks, checked up front
            if compile_check:
                for name in splits:
                    if name not in languages:
                        languages[name] = _language(config.frameworks[name].kernel)
                errors = compile_errors(page, splits, languages)
                if errors:
                    plan.errors[rel] = "\n".join(e.format() for e in errors)
                    continue
        except SourceError as e:
            plan.errors[rel] = e.format()
            continue
        keys = {}
        for name, split in splits.items():
            if name not in deps:
                deps[name] = deps_digests(config.frameworks[name], config.root)
            keys[name] = cache_key(split, deps[name], config.device)
        plan.pages.append(PagePlan(page, splits, keys))
    return plan
