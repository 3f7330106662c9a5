"""The extension's configuration: ``tabbook`` in conf.py (``sphinx.config.tabbook`` in ``_config.yml``).

The engine's keys, ``launch`` (the per-framework launch and download buttons, used only here)
among them, are parsed and checked by :class:`tabbook.config.BookConfig`. Two more conf values, beside
``tabbook`` because the engine does not read them, configure site-wide components:
``tabbook_offline`` (:class:`Offline`, :mod:`.offline`) and ``tabbook_archives``
(:class:`Archives`, :mod:`.archives`). Their defaults change nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError

from tabbook.config import BookConfig, Launch, Repository, github_parts
from tabbook.config import ConfigError as BookConfigError

READER = "tabbook.sphinx.reader.read_page"


def _from_dict(cls, key: str, d: dict | None):
    d = dict(d or {})
    unknown = set(d) - {f.name for f in fields(cls)}
    if unknown:
        raise ConfigError(f"{key}: unknown key(s) {sorted(unknown)}")
    return cls(**d)


@dataclass(frozen=True)
class Offline:
    """``tabbook_offline``: a site that needs no other host (see :mod:`.offline`)."""
    mathjax: str = ""  # installed distribution shipping MathJax 3's es5/ tree; "": Sphinx's mathjax_path
    mathjax_entry: str = "tex-mml-chtml.js"  # the es5/ component the pages load
    thebe: bool = True  # false: drop sphinx-thebe's scripts (they load thebe from a CDN)

    @classmethod
    def from_dict(cls, d: dict | None) -> "Offline":
        return _from_dict(cls, "tabbook_offline", d)


@dataclass(frozen=True)
class Archives:
    """``tabbook_archives``: zip downloads of the site and notebooks (see :mod:`.archives`)."""
    site: bool = False  # <dir>/<name>-html.zip: the whole HTML output
    notebooks: bool = False  # <dir>/<name>-notebooks-<framework>.zip: one per framework
    name: str = "book"  # stem of the file names and top folder inside each archive
    dir: str = "_archives"  # folder of the HTML output that holds them

    @classmethod
    def from_dict(cls, d: dict | None) -> "Archives":
        archives = _from_dict(cls, "tabbook_archives", d)
        for key in ("name", "dir"):
            value = getattr(archives, key)
            if not value or value.startswith((".", "/")) or "\\" in value or ".." in value:
                raise ConfigError(f"tabbook_archives: {key}: not a plain relative name: {value!r}")
        return archives


@dataclass(frozen=True)
class Settings:
    book: BookConfig
    launch: Launch
    github: tuple[str, str] | None  # (org, repo) of the book's repository, if on GitHub
    offline: Offline = Offline()
    archives: Archives = Archives()


def get(app: Sphinx) -> Settings:
    return app.tabbook_settings


def _on_config_inited(app: Sphinx, config: Config) -> None:
    raw = dict(config.tabbook or {})
    theme = config.html_theme_options or {}
    repository = Repository(
        url=str(theme.get("repository_url", "")).rstrip("/"),
        branch=str(theme.get("repository_branch") or "main"),
        path_to_book=str(theme.get("path_to_docs") or ""),
    )
    try:  # the same checks as the engine's load_config (launch buttons need a GitHub URL, ...)
        book = BookConfig.from_dict(raw, app.srcdir, repository=repository)
        book.validate()
    except BookConfigError as e:
        raise ConfigError(str(e)) from None
    launch = book.launch
    github = github_parts(repository.url)
    if config.nb_execution_mode != "off":
        raise ConfigError(
            "tabbook: pages are executed by `python -m tabbook execute`; set "
            f"`execute: execute_notebooks: off` in _config.yml (now {config.nb_execution_mode!r})"
        )
    md_reader = config.nb_custom_formats.get(".md")
    if md_reader is not None and (md_reader if isinstance(md_reader, str) else md_reader[0]) != READER:
        raise ConfigError(f"tabbook: nb_custom_formats['.md'] is taken by {md_reader!r}")
    config.nb_custom_formats = {**config.nb_custom_formats, ".md": (READER, {}, False)}
    app.tabbook_settings = Settings(book=book, launch=launch, github=github,
                                    offline=Offline.from_dict(config.tabbook_offline),
                                    archives=Archives.from_dict(config.tabbook_archives))


def setup(app: Sphinx) -> None:
    from . import warnings  # warnings kept per page and repeated until fixed; reference suggestions
    warnings.setup(app)
    app.add_config_value("tabbook", {}, "env", dict)
    app.add_config_value("tabbook_offline", {}, "html", dict)
    app.add_config_value("tabbook_archives", {}, "env", dict)  # the archive role reads it
    app.connect("config-inited", _on_config_inited)
