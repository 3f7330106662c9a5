import pytest

from tabbook.config import BookConfig, ConfigError, load_config, split_names
from enginelib import FIXTURE_BOOK


def test_load_fixture_config():
    c = load_config(FIXTURE_BOOK)
    assert list(c.frameworks) == ["pytorch", "jax"]
    assert c.frameworks["pytorch"].kernel == "d2l-pytorch"
    assert c.frameworks["pytorch"].extra == "torch"
    assert c.frameworks["jax"].deps == ("deps/jax.txt",)
    assert c.build_dir == FIXTURE_BOOK.resolve() / "_build" / "tabbook"
    assert c.repository.url == "https://github.com/example/rnn-book"
    assert c.timeout == 120


def test_defaults_cover_the_four_frameworks(tmp_path):
    c = BookConfig.from_dict(None, tmp_path)
    assert list(c.frameworks) == ["pytorch", "tensorflow", "mxnet", "jax"]
    assert [f.extra for f in c.frameworks.values()] == ["torch", "tensorflow", "mxnet", "jax"]
    assert c.tabs == "sphinx-design" and c.notebooks.outputs == "keep"


@pytest.mark.parametrize("d, words", [
    ({"tabs": "tabsy"}, "tabs"),
    ({"notebooks": {"outputs": "drop"}}, "outputs"),
    ({"frameworks": {"jax": {"kernal": "x"}}}, "kernal"),
    ({"timout": 3}, "timout"),
])
def test_bad_config_is_an_error(tmp_path, d, words):
    with pytest.raises(ConfigError, match=words):
        BookConfig.from_dict(d, tmp_path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="_config.yml"):
        load_config(tmp_path)


def test_split_names():
    assert split_names(" pytorch, mxnet jax ") == ["pytorch", "mxnet", "jax"]


def test_launch_settings_belong_to_the_sphinx_side(tmp_path):
    c = BookConfig.from_dict({"launch": {"colab": True}, "timeout": 5}, tmp_path)
    assert c.timeout == 5


def test_the_book_config_loads():
    from enginelib import FIXTURE_BOOK
    book = FIXTURE_BOOK.parents[3]
    c = load_config(book)
    assert list(c.frameworks) == ["pytorch", "tensorflow", "mxnet", "jax"]
    assert all(any(dep.endswith(".py") for dep in f.deps) for f in c.frameworks.values())
