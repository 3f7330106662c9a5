"""Book configuration for tabbook, read from jupyter-book's ``_config.yml``.

The engine reads ``sphinx.config.tabbook`` (plus the top-level ``repository:``, ``title`` and
``html.baseurl`` keys) with :func:`load_config`; the Sphinx extension builds the same object
from ``app.config.tabbook`` with :meth:`BookConfig.from_dict`.

Every option is a dataclass field whose metadata holds a validator and a one-line help text (the
pattern of MyST-NB's ``NbParserConfig`` / myst-parser's ``dc_validators``). :func:`load_config`
checks the whole file before anything executes; every error names ``_config.yml``, the key's
dotted path and the fix. Nothing here knows a particular book: framework names, kernel names,
the install line of exported notebooks, the thread-count variable and the hints printed in
errors all come from the book's ``_config.yml``, with neutral defaults.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

CONFIG_FILE = "_config.yml"
PREFIX = "sphinx.config.tabbook"  # where the engine's keys live in _config.yml

DEFAULT_SETUP = "%matplotlib inline"
DEFAULT_KERNEL = "{framework}"  # kernel name template: the framework's name
DEFAULT_THREADS_ENV = "TABBOOK_NUM_THREADS"
DEFAULT_KERNEL_HINT = ("install a Jupyter kernel of that name where this build's Python looks for "
                       "kernels, e.g. `<env>/bin/python -m ipykernel install --sys-prefix --name {kernel}` "
                       "(check with `jupyter kernelspec list`)")
DEFAULT_BUILD_HINT = "run `python -m tabbook html` from the book's root"
FRAMEWORK_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
KERNEL_NAME = re.compile(r"^[A-Za-z0-9._-]+$")  # what jupyter_client accepts as a kernel name


class ConfigError(ValueError):
    """The book configuration is invalid."""


# ------------------------------------------------------------------------------- validators
# A validator takes (where, value) and returns the value to store (converted) or raises
# ConfigError naming ``where`` (the key's dotted path in _config.yml).

def _fail(where: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"{CONFIG_FILE}: {where}: {problem}; {fix}")


def instance_of(*types: type, fix: str = "") -> Callable:
    names = " or ".join(t.__name__ for t in types)

    def check(where, value):
        if isinstance(value, bool) and bool not in types:
            raise _fail(where, f"must be {names}, not {value!r}", fix or f"give a {names}")
        if not isinstance(value, types):
            raise _fail(where, f"must be {names}, not {value!r}", fix or f"give a {names}")
        return value
    return check


def one_of(*choices: Any) -> Callable:
    def check(where, value):
        if value not in choices:
            close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
            hint = f"did you mean {close[0]!r}?" if close else ""
            raise _fail(where, f"{value!r} is not one of {', '.join(map(repr, choices))}",
                        hint or f"use one of {', '.join(map(repr, choices))}")
        return value
    return check


def positive_int(where, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(where, f"must be a whole number of at least 1, not {value!r}", "e.g. 900")
    return value


def threads_value(where, value):
    if value == "auto" or value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(where, f"must be a whole number of at least 1 or 'auto', not {value!r}",
                    "e.g. 1 (the same numbers whatever JOBS is); 'auto' shares the CPUs between "
                    "the kernels running at once, so outputs may depend on JOBS")
    return value


def env_name(where, value):
    if not isinstance(value, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
        raise _fail(where, f"{value!r} is not an environment variable name", "e.g. TABBOOK_NUM_THREADS")
    return value


def string_list(where, value):
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise _fail(where, f"must be a list of file paths, not {value!r}", "e.g. [requirements/x.txt]")
    return tuple(value)


def text(where, value):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _fail(where, f"must be text, not {value!r}", "quote it in YAML")
    return value


def kernel_template(where, value):
    text(where, value)
    try:
        name = value.format(framework="x")
    except (KeyError, IndexError, ValueError) as e:
        raise _fail(where, f"{value!r} is not a valid template ({e})",
                    "only {framework} may be substituted, e.g. mybook-{framework}") from None
    if not KERNEL_NAME.match(name):
        raise _fail(where, f"{value!r} does not make a kernel name (letters, digits, . _ -)",
                    "e.g. mybook-{framework}")
    return value


def install_template(where, value):
    text(where, value)
    try:
        value.format(extra="x", repo_url="https://x", ref="main")
    except (KeyError, IndexError, ValueError) as e:
        raise _fail(where, f"{value!r} is not a valid template ({e})",
                    "it may use {extra}, {repo_url} and {ref}, e.g. "
                    "'pip install \"mylib[{extra}] @ git+{repo_url}@{ref}\"'") from None
    return value


def _opt(default, validator, help: str, **kw):
    if isinstance(default, (dict, list, set)):
        kw["default_factory"] = lambda: type(default)(default)
    else:
        kw["default"] = default
    return field(metadata={"validator": validator, "help": help}, **kw)


def _from_mapping(cls, d, where: str, **extra):
    """An instance of dataclass ``cls`` from mapping ``d`` (a YAML section at ``where``): unknown
    keys refused with a close-match suggestion, each value checked by its field's validator."""
    if d is None:
        d = {}
    if not isinstance(d, dict):
        raise _fail(where, f"must be a mapping of keys, not {d!r}", "see chapters/engine-config.md")
    names = [f.name for f in fields(cls) if f.metadata.get("validator") and f.init]
    for key in d:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            raise _fail(f"{where}.{key}", "unknown key",
                        f"did you mean {close[0]!r}?" if close else f"the keys here are {', '.join(names)}")
    values = dict(extra)
    for f in fields(cls):
        if f.name in d:
            values[f.name] = f.metadata["validator"](f"{where}.{f.name}", d[f.name])
    return cls(**values)


# --------------------------------------------------------------------------------- sections

@dataclass(frozen=True)
class Framework:
    """One framework of the book: a tab label, the Jupyter kernel that executes it, and more."""
    name: str
    label: str = _opt("", text, "tab label (default: the framework's name)")
    kernel: str = _opt("", text, "Jupyter kernel name (default: the book's `kernel` template)")
    deps: tuple[str, ...] = _opt((), string_list,
                                 "files whose content is part of every cache key of this framework")
    extra: str = _opt("", text, "`{extra}` of the notebooks' install line (default: the name)")
    # As stored here, `setup` starts with `%env <threads_env>=<threads>` when the thread count is
    # fixed: the kernel sees it before the page's imports, and it is part of every cache key.
    setup: str = _opt(DEFAULT_SETUP, text, "hidden code run first in every kernel of this framework")
    threads: int | None = _opt(None, threads_value,
                               "CPU threads of this framework's kernels (default: the book's `threads`)")
    # Filled in by BookConfig: the variable the thread count is passed in.
    threads_env: str = DEFAULT_THREADS_ENV


@dataclass(frozen=True)
class Repository:
    url: str = ""
    branch: str = "main"
    path_to_book: str = ""


@dataclass(frozen=True)
class NotebookOptions:
    outputs: str = _opt("keep", one_of("keep", "strip"), "keep or strip outputs in exported notebooks")
    install: str = _opt("", install_template,
                        "install line of the exported notebooks ({extra}, {repo_url}, {ref}); '': none")


@dataclass(frozen=True)
class Hints:
    kernel: str = _opt(DEFAULT_KERNEL_HINT, text, "fix printed when a kernel is not installed ({kernel})")
    build: str = _opt(DEFAULT_BUILD_HINT, text, "how to (re)build, printed when results are missing")


@dataclass(frozen=True)
class Launch:
    """``launch``: per-framework launch and download buttons (read by :mod:`tabbook.sphinx`)."""
    colab: bool = _opt(False, instance_of(bool), "one Colab button per framework")
    binderhub: str = _opt("", text, "BinderHub URL, e.g. https://mybinder.org ('': no button)")
    notebooks_branch: str = _opt("notebooks", text, "branch holding the published notebooks")
    notebooks_path: str = _opt("{framework}/{docname}.ipynb", text, "their path on that branch")
    download: bool = _opt(True, instance_of(bool), "one .ipynb download per framework")

    @classmethod
    def from_dict(cls, d: dict | None, where: str = f"{PREFIX}.launch") -> "Launch":
        launch = _from_mapping(cls, d, where)
        if launch.binderhub and not re.match(r"^https?://\S+$", launch.binderhub):
            raise _fail(f"{where}.binderhub", f"{launch.binderhub!r} is not a URL", "e.g. https://mybinder.org")
        return launch


@dataclass
class BookConfig:
    root: Path
    frameworks: dict[str, Framework]
    tabs: str = _opt("sphinx-design", one_of("sphinx-design", "sphinx-tabs"), "tab extension")
    timeout: int = _opt(900, positive_int, "seconds a cell may run")
    build_dir: Path = field(default=Path("_build/tabbook"))
    repository: Repository = field(default_factory=Repository)
    notebooks: NotebookOptions = field(default_factory=NotebookOptions)
    kernel: str = _opt(DEFAULT_KERNEL, kernel_template, "kernel name template ({framework})")
    threads: int | None = _opt(1, threads_value, "CPU threads per kernel (a number, or 'auto')")
    threads_env: str = _opt(DEFAULT_THREADS_ENV, env_name, "variable the kernels get the thread count in")
    hints: Hints = field(default_factory=Hints)
    launch: Launch = field(default_factory=Launch)
    # Which set of framework environments executes (e.g. a GPU set): part of every cache key,
    # so results from GPU environments are never taken for CPU ones.
    device: str = "cpu"
    # For the exported notebooks (tabbook.export), read by load_config: the book's `title`, the
    # site's URL (`html.baseurl`; "" = no links to the site) and the commit their install cell
    # names ("" = resolved at build time, see export.resolve_pin; `--commit` sets it).
    title: str = ""
    baseurl: str = ""
    commit: str = ""

    # Keys of sphinx.config.tabbook that are not a plain field of this class.
    SECTIONS = ("frameworks", "build_dir", "notebooks", "hints", "launch")

    @classmethod
    def from_dict(cls, d: dict | None, root, repository=None, where: str = PREFIX) -> "BookConfig":
        """Build from the ``tabbook`` dict (``sphinx.config.tabbook`` of ``_config.yml``).

        ``repository`` is jupyter-book's top-level ``repository:`` dict (url, branch,
        path_to_book), a :class:`Repository`, or None. Raises :class:`ConfigError` naming the
        key and the fix.
        """
        if d is None:
            d = {}
        if not isinstance(d, dict):
            raise _fail(where, f"must be a mapping, not {d!r}", "see chapters/engine-config.md")
        root = Path(root).resolve()
        plain = [f.name for f in fields(cls) if f.metadata.get("validator")]
        known = plain + list(cls.SECTIONS)
        for key in d:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                raise _fail(f"{where}.{key}", "unknown key",
                            f"did you mean {close[0]!r}?" if close else f"the keys are {', '.join(known)}")
        values = {f.name: f.metadata["validator"](f"{where}.{f.name}", d[f.name])
                  for f in fields(cls) if f.name in plain and f.name in d}
        book = cls(root=root, frameworks={}, **values)

        raw = d.get("frameworks")
        if isinstance(raw, list) and all(isinstance(n, str) for n in raw):
            raw = {name: {} for name in raw}
        if not raw or not isinstance(raw, dict):
            raise _fail(f"{where}.frameworks", "missing or empty" if not raw else f"must be a mapping, not {raw!r}",
                        "name each framework with its kernel, e.g. `frameworks: {numpy: {label: NumPy, "
                        "kernel: mybook-numpy}}`")
        for name, spec in raw.items():
            at = f"{where}.frameworks.{name}"
            if not isinstance(name, str) or not FRAMEWORK_NAME.match(name) or name == "all":
                raise _fail(at, f"{name!r} is not a usable framework name",
                            "use lower-case letters, digits, - and _ (and not 'all': %%tab all means every one)")
            fw = _from_mapping(Framework, spec, at, name=name)
            kernel = fw.kernel or book.kernel.format(framework=name)
            if not KERNEL_NAME.match(kernel):
                raise _fail(f"{at}.kernel", f"{kernel!r} is not a kernel name", "use letters, digits, . _ -")
            # the framework's own `threads` (a number, or 'auto') wins over the book's
            threads = fw.threads if "threads" in (spec or {}) else book.threads
            setup = fw.setup
            if threads is not None:  # first, so a page's imports see it; and in the cache key
                setup = f"%env {book.threads_env}={threads}" + (f"\n{setup}" if setup else "")
            book.frameworks[name] = Framework(
                name=name, label=fw.label or name, kernel=kernel, deps=fw.deps, extra=fw.extra or name,
                setup=setup, threads=threads, threads_env=book.threads_env)

        build_dir = d.get("build_dir", "_build/tabbook")
        text(f"{where}.build_dir", build_dir)
        build_dir = Path(build_dir or "_build/tabbook")
        book.build_dir = build_dir if build_dir.is_absolute() else root / build_dir
        book.notebooks = _from_mapping(NotebookOptions, d.get("notebooks"), f"{where}.notebooks")
        book.hints = _from_mapping(Hints, d.get("hints"), f"{where}.hints")
        book.launch = Launch.from_dict(d.get("launch"), f"{where}.launch")

        if not isinstance(repository, Repository):
            r = repository or {}
            if not isinstance(r, dict):
                raise _fail("repository", f"must be a mapping, not {r!r}", "e.g. {url: https://github.com/org/book}")
            repository = Repository(
                url=str(r.get("url", "") or "").rstrip("/"),
                branch=str(r.get("branch", "main") or "main"),
                path_to_book=str(r.get("path_to_book", "") or ""),
            )
        book.repository = repository
        return book

    @property
    def framework_names(self) -> list[str]:
        return list(self.frameworks)

    def label(self, name: str) -> str:
        return self.frameworks[name].label

    def kernel_hint(self, kernel: str) -> str:
        return self.hints.kernel.replace("{kernel}", kernel)

    def validate(self) -> None:
        """Checks that need more than one key, or the files on disk: run before anything executes."""
        for fw in self.frameworks.values():
            for i, rel in enumerate(fw.deps):
                if not (self.root / rel).is_file():
                    raise _fail(f"{PREFIX}.frameworks.{fw.name}.deps[{i}]", f"{rel} is not a file under {self.root}",
                                "fix the path (relative to the book's root) or remove it")
        needs_url = []
        if "{repo_url}" in self.notebooks.install:
            needs_url.append(f"{PREFIX}.notebooks.install (it uses {{repo_url}})")
        if self.launch.colab:
            needs_url.append(f"{PREFIX}.launch.colab")
        if self.launch.binderhub:
            needs_url.append(f"{PREFIX}.launch.binderhub")
        if needs_url and not self.repository.url:
            raise _fail("repository.url", f"missing, and {' and '.join(needs_url)} need it",
                        "add `repository: {url: https://github.com/<org>/<repo>, branch: main}`")
        if (self.launch.colab or self.launch.binderhub) and github_parts(self.repository.url) is None:
            raise _fail("repository.url", f"{self.repository.url!r} is not a https://github.com/<org>/<repo> URL",
                        "Colab and Binder buttons open notebooks from GitHub: give the GitHub URL, "
                        "or turn the buttons off")


def github_parts(url: str) -> tuple[str, str] | None:
    """(org, repo) of a ``https://github.com/<org>/<repo>`` URL, else None."""
    prefix = "https://github.com/"
    if not url.startswith(prefix):
        return None
    parts = url[len(prefix):].strip("/").removesuffix(".git").split("/")
    return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None


def read_config_file(book_root) -> dict:
    import yaml
    path = Path(book_root) / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: not found (run from the book root, or pass --root)")
    with open(path, encoding="utf-8") as f:
        try:
            raw = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: invalid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must be a mapping of keys, not {type(raw).__name__}")
    return raw


def load_config(book_root=".") -> BookConfig:
    """Read ``<book_root>/_config.yml``, check all of it (:meth:`BookConfig.validate`) and return
    the tabbook configuration. Call it before anything executes."""
    raw = read_config_file(book_root)
    sphinx = raw.get("sphinx") or {}
    tb = ((sphinx.get("config") if isinstance(sphinx, dict) else None) or {}).get("tabbook")
    config = BookConfig.from_dict(tb, book_root, repository=raw.get("repository"))
    config.title = str(raw.get("title") or "")
    baseurl = str((raw.get("html") or {}).get("baseurl") or "").strip()
    if baseurl and not re.match(r"^https?://[^/\s]+(/\S*)?$", baseurl):
        raise ConfigError(f"{Path(book_root) / CONFIG_FILE}: html.baseurl must be the site's absolute "
                          f"URL, e.g. https://org.github.io/book/, not {baseurl!r}")
    config.baseurl = baseurl.rstrip("/") + "/" if baseurl else ""
    config.validate()
    return config


validate = load_config  # the name a build calls first: everything checked, nothing executed


def documented_keys() -> dict[str, str]:
    """Every key of ``sphinx.config.tabbook`` with its help text (for the docs and their test)."""
    out = {}
    for cls, prefix in ((BookConfig, ""), (Framework, "frameworks.<name>."), (NotebookOptions, "notebooks."),
                        (Hints, "hints."), (Launch, "launch.")):
        for f in fields(cls):
            if f.metadata.get("help"):
                out[prefix + f.name] = f.metadata["help"]
    out["frameworks"] = "the book's frameworks, in tab order"
    out["build_dir"] = "the engine's folder (cache, merged pages, notebooks, logs)"
    return out

