"""Book configuration for tabbook, read from jupyter-book's ``_config.yml``.

The engine reads ``sphinx.config.tabbook`` (plus the top-level ``repository:`` key) with
:func:`load_config`; the Sphinx extension builds the same object from ``app.config.tabbook``
with :meth:`BookConfig.from_dict`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_FILE = "_config.yml"

# Defaults for the frameworks this book knows; `_config.yml` may override any field.
KNOWN_FRAMEWORKS = {
    "pytorch": {"label": "PyTorch", "extra": "torch"},
    "tensorflow": {"label": "TensorFlow", "extra": "tensorflow"},
    "mxnet": {"label": "MXNet", "extra": "mxnet"},
    "jax": {"label": "JAX", "extra": "jax"},
}
DEFAULT_INSTALL = 'pip install "d2l_support[{extra}] @ git+{repo_url}@{ref}"'
DEFAULT_SETUP = "%matplotlib inline"


class ConfigError(ValueError):
    """The book configuration is invalid."""


@dataclass(frozen=True)
class Framework:
    name: str
    label: str
    kernel: str
    deps: tuple[str, ...] = ()
    extra: str = ""
    setup: str = DEFAULT_SETUP  # hidden code run first in every kernel of this framework


@dataclass(frozen=True)
class Repository:
    url: str = ""
    branch: str = "main"
    path_to_book: str = ""


@dataclass(frozen=True)
class NotebookOptions:
    outputs: str = "keep"  # "keep" or "strip"
    install: str = DEFAULT_INSTALL


@dataclass
class BookConfig:
    root: Path
    frameworks: dict[str, Framework]
    tabs: str = "sphinx-design"
    timeout: int = 900
    build_dir: Path = field(default=Path("_build/tabbook"))
    repository: Repository = field(default_factory=Repository)
    notebooks: NotebookOptions = field(default_factory=NotebookOptions)
    # Which set of framework environments executes (`make DEVICE=gpu` builds .venv-gpu): part of
    # every cache key, so results from GPU environments are never taken for CPU ones.
    device: str = "cpu"
    # For the exported notebooks (tabbook.export), read by load_config: the book's `title`, the
    # site's URL (`html.baseurl`; "" = no links to the site) and the commit their install cell
    # names ("" = resolved at build time, see export.resolve_pin; `--commit` sets it).
    title: str = ""
    baseurl: str = ""
    commit: str = ""

    @classmethod
    def from_dict(cls, d: dict | None, root, repository=None) -> "BookConfig":
        """Build from the ``tabbook`` dict (``sphinx.config.tabbook`` of ``_config.yml``).

        ``repository`` is jupyter-book's top-level ``repository:`` dict (url, branch,
        path_to_book), a :class:`Repository`, or None.
        """
        d = dict(d or {})
        root = Path(root).resolve()
        d.pop("launch", None)  # launch buttons: read by the Sphinx side (tabbook.sphinx.settings)
        unknown = set(d) - {"frameworks", "tabs", "timeout", "build_dir", "notebooks"}
        if unknown:
            raise ConfigError(f"tabbook config: unknown key(s) {sorted(unknown)}")
        fws_raw = d.get("frameworks") or {name: {} for name in KNOWN_FRAMEWORKS}
        if isinstance(fws_raw, list):
            fws_raw = {name: {} for name in fws_raw}
        frameworks = {}
        for name, spec in fws_raw.items():
            spec = dict(KNOWN_FRAMEWORKS.get(name, {}), **(spec or {}))
            bad = set(spec) - {"label", "kernel", "deps", "extra", "setup"}
            if bad:
                raise ConfigError(f"tabbook config: framework {name!r}: unknown key(s) {sorted(bad)}")
            frameworks[name] = Framework(
                name=name,
                label=spec.get("label", name),
                kernel=spec.get("kernel", f"d2l-{name}"),
                deps=tuple(spec.get("deps") or ()),
                extra=spec.get("extra", name),
                setup=spec.get("setup", DEFAULT_SETUP) or "",
            )
        tabs = d.get("tabs", "sphinx-design")
        if tabs not in ("sphinx-design", "sphinx-tabs"):
            raise ConfigError(f"tabbook config: tabs must be sphinx-design or sphinx-tabs, not {tabs!r}")
        nb = dict(d.get("notebooks") or {})
        outputs = nb.get("outputs", "keep")
        if outputs not in ("keep", "strip"):
            raise ConfigError(f"tabbook config: notebooks.outputs must be keep or strip, not {outputs!r}")
        build_dir = Path(d.get("build_dir", "_build/tabbook"))
        if not isinstance(repository, Repository):
            r = repository or {}
            repository = Repository(
                url=str(r.get("url", "")).rstrip("/"),
                branch=str(r.get("branch", "main")),
                path_to_book=str(r.get("path_to_book", "") or ""),
            )
        return cls(
            root=root,
            frameworks=frameworks,
            tabs=tabs,
            timeout=int(d.get("timeout", 900)),
            build_dir=build_dir if build_dir.is_absolute() else root / build_dir,
            repository=repository,
            notebooks=NotebookOptions(outputs=outputs, install=nb.get("install", DEFAULT_INSTALL)),
        )

    @property
    def framework_names(self) -> list[str]:
        return list(self.frameworks)

    def label(self, name: str) -> str:
        return self.frameworks[name].label


def split_names(text: str) -> list[str]:
    """Framework names from ``"a, b"`` or ``"a b"``."""
    return [n for n in re.split(r"[\s,]+", text.strip()) if n]


def read_config_file(book_root) -> dict:
    import yaml
    path = Path(book_root) / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: not found (run from the book root)")
    with open(path, encoding="utf-8") as f:
        try:
            return yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: invalid YAML: {e}") from None


def load_config(book_root=".") -> BookConfig:
    """Read ``<book_root>/_config.yml`` and return the tabbook configuration."""
    raw = read_config_file(book_root)
    tb = ((raw.get("sphinx") or {}).get("config") or {}).get("tabbook")
    config = BookConfig.from_dict(tb, book_root, repository=raw.get("repository"))
    config.title = str(raw.get("title") or "")
    baseurl = str((raw.get("html") or {}).get("baseurl") or "").strip()
    if baseurl and not re.match(r"^https?://[^/\s]+(/\S*)?$", baseurl):
        raise ConfigError(f"{Path(book_root) / CONFIG_FILE}: html.baseurl must be the site's absolute "
                          f"URL, e.g. https://org.github.io/book/, not {baseurl!r}")
    config.baseurl = baseurl.rstrip("/") + "/" if baseurl else ""
    return config
