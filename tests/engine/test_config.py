import re
from pathlib import Path

import pytest

import tabbook
from tabbook.config import BookConfig, ConfigError, documented_keys, load_config
from enginelib import FIXTURE_BOOK

BOOK = FIXTURE_BOOK.parents[3]
TWO = {"frameworks": {"a": {}, "b": {"label": "Bee", "kernel": "k-b"}}}


def test_load_fixture_config():
    c = load_config(FIXTURE_BOOK)
    assert list(c.frameworks) == ["pytorch", "jax"]
    assert c.frameworks["pytorch"].kernel == "d2l-pytorch"
    assert c.frameworks["jax"].deps == ("deps/jax.txt",)
    assert c.build_dir == FIXTURE_BOOK.resolve() / "_build" / "tabbook"
    assert c.repository.url == "https://github.com/example/rnn-book"
    assert c.timeout == 120


def test_neutral_defaults(tmp_path):
    c = BookConfig.from_dict(TWO, tmp_path)
    a, b = c.frameworks["a"], c.frameworks["b"]
    assert (a.label, a.kernel, a.extra) == ("a", "a", "a")  # no book's names
    assert (b.label, b.kernel) == ("Bee", "k-b")
    assert c.tabs == "sphinx-design" and c.notebooks.outputs == "keep" and c.notebooks.install == ""
    assert c.threads == 1 and a.threads == 1 and a.threads_env == "TABBOOK_NUM_THREADS"
    assert a.setup.splitlines() == ["%env TABBOOK_NUM_THREADS=1", "%matplotlib inline"]


def test_kernel_template_thread_variable_and_overrides(tmp_path):
    c = BookConfig.from_dict({"kernel": "mybook-{framework}", "threads": 2, "threads_env": "MY_THREADS",
                              "frameworks": {"a": {}, "b": {"threads": "auto", "setup": ""},
                                             "c": {"threads": 3, "kernel": "other"}}}, tmp_path)
    a, b, cc = (c.frameworks[n] for n in "abc")
    assert a.kernel == "mybook-a" and cc.kernel == "other"
    assert a.threads == 2 and a.setup.startswith("%env MY_THREADS=2\n")
    assert b.threads is None and b.setup == ""  # 'auto': the build shares the CPUs out
    assert cc.threads == 3 and cc.setup.startswith("%env MY_THREADS=3\n")


def test_thread_count_is_part_of_the_cache_key(tmp_path):
    from tabbook.cache import cache_key
    from tabbook.parse import parse_page
    from tabbook.split import split_page
    page = tmp_path / "p.md"
    page.write_text("---\njupytext: {text_representation: {format_name: myst}}\n---\n# T\n\n"
                    "```{code-cell} ipython3\nprint(1)\n```\n")
    keys = set()
    for threads in (1, 2, "auto"):
        config = BookConfig.from_dict({"threads": threads, "frameworks": {"a": {}}}, tmp_path)
        split = split_page(parse_page(page, config), config.frameworks)["a"]
        keys.add(cache_key(split, {}))
    assert len(keys) == 3


@pytest.mark.parametrize("d, words", [
    ({"tabs": "sphinx-desing"}, r"tabbook\.tabs: 'sphinx-desing' is not one of .*did you mean 'sphinx-design'"),
    ({"notebooks": {"outputs": "drop"}}, r"tabbook\.notebooks\.outputs: 'drop'"),
    ({"frameworks": {"jax": {"kernal": "x"}}}, r"frameworks\.jax\.kernal: unknown key; did you mean 'kernel'"),
    ({"timout": 3}, r"tabbook\.timout: unknown key; did you mean 'timeout'"),
    ({"timeout": "long"}, r"tabbook\.timeout: must be a whole number"),
    ({"threads": 0}, r"tabbook\.threads: must be a whole number of at least 1 or 'auto'"),
    ({"threads_env": "MY THREADS"}, r"threads_env: 'MY THREADS' is not an environment variable name"),
    ({"kernel": "book-{fw}"}, r"tabbook\.kernel: .*only \{framework\} may be substituted"),
    ({"notebooks": {"install": "pip install x[{extras}]"}}, r"notebooks\.install: .*\{extra\}, \{repo_url\}"),
    ({"frameworks": {"All": {}}}, r"frameworks\.All: 'All' is not a usable framework name"),
    ({"frameworks": {"a": {"deps": "x.txt"}}}, r"frameworks\.a\.deps: must be a list"),
    ({"launch": {"colab": "yes"}}, r"launch\.colab: must be bool"),
    ({"hints": {"kernal": ""}}, r"hints\.kernal: unknown key; did you mean 'kernel'"),
])
def test_bad_config_names_file_key_and_fix(tmp_path, d, words):
    d = {"frameworks": {"a": {}}, **d}
    with pytest.raises(ConfigError, match=words) as e:
        BookConfig.from_dict(d, tmp_path)
    assert str(e.value).startswith("_config.yml: sphinx.config.tabbook.")


def test_frameworks_are_required(tmp_path):
    with pytest.raises(ConfigError, match=r"tabbook\.frameworks: missing or empty; name each framework"):
        BookConfig.from_dict({}, tmp_path)


def _write_config(root: Path, tabbook_yaml: str, repository: str = "") -> Path:
    (root / "_config.yml").write_text(f"title: T\n{repository}sphinx:\n  config:\n    tabbook:\n{tabbook_yaml}")
    return root


@pytest.mark.parametrize("tb, words", [
    ("      launch: {colab: true}\n", r"repository\.url: missing, and sphinx\.config\.tabbook\.launch\.colab need"),
    ("      notebooks: {install: 'pip install git+{repo_url}@{ref}'}\n", r"repository\.url: missing.*install"),
])
def test_missing_repository_url_is_found_before_execution(tmp_path, tb, words):
    _write_config(tmp_path, "      frameworks: {a: {}}\n" + tb)
    with pytest.raises(ConfigError, match=words) as e:
        load_config(tmp_path)
    assert "add `repository: {url: https://github.com/" in str(e.value)


def test_launch_buttons_need_a_github_url(tmp_path):
    _write_config(tmp_path, "      frameworks: {a: {}}\n      launch: {binderhub: 'https://mybinder.org'}\n",
                  "repository: {url: https://gitlab.com/o/r}\n")
    with pytest.raises(ConfigError, match="not a https://github.com/<org>/<repo> URL"):
        load_config(tmp_path)


def test_missing_deps_file_is_found_before_execution(tmp_path):
    _write_config(tmp_path, "      frameworks: {a: {deps: [req/a.txt]}}\n")
    with pytest.raises(ConfigError, match=r"frameworks\.a\.deps\[0\]: req/a.txt is not a file"):
        load_config(tmp_path)
    (tmp_path / "req").mkdir()
    (tmp_path / "req/a.txt").write_text("numpy\n")
    assert load_config(tmp_path).frameworks["a"].deps == ("req/a.txt",)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="_config.yml"):
        load_config(tmp_path)


def test_launch_settings_are_checked_with_the_rest(tmp_path):
    c = BookConfig.from_dict({"launch": {"colab": True}, "timeout": 5, "frameworks": ["a"]}, tmp_path)
    assert c.timeout == 5 and c.launch.colab and list(c.frameworks) == ["a"]
    with pytest.raises(ConfigError, match=r"launch\.colob: unknown key; did you mean 'colab'"):
        BookConfig.from_dict({"launch": {"colob": True}, "frameworks": ["a"]}, tmp_path)


def test_the_book_config_loads():
    c = load_config(BOOK)
    assert list(c.frameworks) == ["pytorch", "tensorflow", "mxnet", "jax"]
    assert all(any(dep.endswith(".py") for dep in f.deps) for f in c.frameworks.values())
    # this book's names come from its _config.yml
    assert [f.kernel for f in c.frameworks.values()] == [f"d2l-{n}" for n in c.frameworks]
    assert c.frameworks["pytorch"].extra == "torch" and c.threads_env == "D2L_NUM_THREADS"
    assert "make envs" in c.kernel_hint("d2l-jax")


def test_engine_names_no_book():
    """Nothing in the engine package names this book, its library, its kernels or its Makefile."""
    found = []
    for path in Path(tabbook.__file__).parent.rglob("*.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"d2l|D2L|`make\b|\.venv", line):
                found.append(f"{path.name}:{n}: {line.strip()}")
    assert not found, "\n".join(found)


def test_every_key_is_documented():
    page = (BOOK / "chapters/engine-config.md").read_text(encoding="utf-8")
    missing = [key for key in documented_keys() if f"`{key}`" not in page]
    assert not missing, f"chapters/engine-config.md does not describe {missing}"
