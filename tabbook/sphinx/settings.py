"""The extension's configuration: ``tabbook`` in conf.py (``sphinx.config.tabbook`` in ``_config.yml``).

The engine's keys are parsed by :class:`tabbook.config.BookConfig`; ``launch`` (only used here)
configures the per-framework launch and download buttons.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError

from tabbook.config import BookConfig, Repository
from tabbook.config import ConfigError as BookConfigError

READER = "tabbook.sphinx.reader.read_page"


@dataclass(frozen=True)
class Launch:
    colab: bool = False  # one "Colab (<Label>)" button per framework
    binderhub: str = ""  # e.g. https://mybinder.org; empty: no Binder button
    notebooks_branch: str = "notebooks"  # branch holding the published per-framework notebooks
    notebooks_path: str = "{framework}/{docname}.ipynb"  # their path on that branch
    download: bool = True  # one ".ipynb (<Label>)" download per framework

    @classmethod
    def from_dict(cls, d: dict | None) -> "Launch":
        d = dict(d or {})
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"tabbook config: launch: unknown key(s) {sorted(unknown)}")
        return cls(**d)


@dataclass(frozen=True)
class Settings:
    book: BookConfig
    launch: Launch
    github: tuple[str, str] | None  # (org, repo) of the book's repository, if on GitHub


def get(app: Sphinx) -> Settings:
    return app.tabbook_settings


def _github_parts(url: str) -> tuple[str, str] | None:
    prefix = "https://github.com/"
    if not url.startswith(prefix):
        return None
    parts = url[len(prefix):].strip("/").removesuffix(".git").split("/")
    return (parts[0], parts[1]) if len(parts) == 2 else None


def _on_config_inited(app: Sphinx, config: Config) -> None:
    raw = dict(config.tabbook or {})
    launch = Launch.from_dict(raw.pop("launch", None))
    theme = config.html_theme_options or {}
    repository = Repository(
        url=str(theme.get("repository_url", "")).rstrip("/"),
        branch=str(theme.get("repository_branch") or "main"),
        path_to_book=str(theme.get("path_to_docs") or ""),
    )
    try:
        book = BookConfig.from_dict(raw, app.srcdir, repository=repository)
    except BookConfigError as e:
        raise ConfigError(str(e)) from None
    github = _github_parts(repository.url)
    if (launch.colab or launch.binderhub) and github is None:
        raise ConfigError(
            "tabbook config: launch.colab/launch.binderhub need `repository: url:` in _config.yml "
            f"to be a https://github.com/<org>/<repo> URL, not {repository.url!r}"
        )
    if config.nb_execution_mode != "off":
        raise ConfigError(
            "tabbook: pages are executed by `python -m tabbook execute`; set "
            f"`execute: execute_notebooks: off` in _config.yml (now {config.nb_execution_mode!r})"
        )
    md_reader = config.nb_custom_formats.get(".md")
    if md_reader is not None and (md_reader if isinstance(md_reader, str) else md_reader[0]) != READER:
        raise ConfigError(f"tabbook: nb_custom_formats['.md'] is taken by {md_reader!r}")
    config.nb_custom_formats = {**config.nb_custom_formats, ".md": (READER, {}, False)}
    app.tabbook_settings = Settings(book=book, launch=launch, github=github)


def setup(app: Sphinx) -> None:
    app.add_config_value("tabbook", {}, "env", dict)
    app.connect("config-inited", _on_config_inited)
