import os

import nbformat
import pytest

from tabbook.cache import Cache, cache_key, deps_digests, write_atomic
from tabbook.config import ConfigError
from tabbook.parse import SourceError, parse_page
from tabbook.split import split_page
from enginelib import line_of, make_config, write_page

BODY = """Intro prose.

```{code-cell}
import math
```

```{code-cell}
%%tab pytorch
a = 1
```

```{code-cell}
if tab.selected('jax'):
    b = 2
```
"""


def _splits(tmp_path, body=BODY, **cfg):
    config = make_config(tmp_path, **cfg)
    page = parse_page(write_page(tmp_path, "ch/p.md", body), config)
    return split_page(page, config.frameworks)


def test_split_per_framework(tmp_path):
    s = _splits(tmp_path)
    assert list(s) == ["pytorch", "jax"]
    assert [(c.source_cell, c.code) for c in s["pytorch"].cells] == [(1, "import math"), (2, "a = 1")]
    assert [(c.source_cell, c.code) for c in s["jax"].cells] == [(1, "import math"), (3, "b = 2")]
    nb = s["jax"].to_notebook()
    assert nb.metadata.kernelspec["name"] == "d2l-jax"
    assert [c.metadata["tabbook"]["source_cell"] for c in nb.cells] == [1, 3]


def test_conditional_error_names_page_line_and_framework(tmp_path):
    body = "```{code-cell}\nx = 0\nif tab.selected('jx'):\n    pass\n```\n"
    with pytest.raises(SourceError) as e:
        _splits(tmp_path, body)
    path = tmp_path / "ch" / "p.md"
    assert str(e.value).startswith(f"ch/p.md:{line_of(path, 'if tab.selected(' + repr('jx') + '):')}: [pytorch]")


def _keys(tmp_path, body=BODY, deps=None, **cfg):
    s = _splits(tmp_path, body, **cfg)
    return {fw: cache_key(sp, deps or {}) for fw, sp in s.items()}


def test_prose_does_not_change_keys(tmp_path):
    assert _keys(tmp_path) == _keys(tmp_path, BODY.replace("Intro prose.", "Other words entirely."))


def test_one_framework_cell_changes_only_its_key(tmp_path):
    a, b = _keys(tmp_path), _keys(tmp_path, BODY.replace("a = 1", "a = 10"))
    assert a["pytorch"] != b["pytorch"] and a["jax"] == b["jax"]


def test_kernel_timeout_and_deps_change_keys(tmp_path):
    base = _keys(tmp_path)
    assert _keys(tmp_path, frameworks={"pytorch": {"kernel": "other"}, "jax": {}})["pytorch"] != base["pytorch"]
    assert _keys(tmp_path, timeout=5)["jax"] != base["jax"]
    assert _keys(tmp_path, deps={"r.txt": "00"})["jax"] != base["jax"]


def test_deps_digests(tmp_path):
    (tmp_path / "r.txt").write_text("torch==1\n")
    config = make_config(tmp_path, frameworks={"pytorch": {"deps": ["r.txt"]}})
    d1 = deps_digests(config.frameworks["pytorch"], tmp_path)
    (tmp_path / "r.txt").write_text("torch==2\n")
    assert deps_digests(config.frameworks["pytorch"], tmp_path) != d1
    bad = make_config(tmp_path, frameworks={"pytorch": {"deps": ["nope.txt"]}})
    with pytest.raises(ConfigError, match="nope.txt"):
        deps_digests(bad.frameworks["pytorch"], tmp_path)


def test_cache_roundtrip_and_corrupt_entry_is_a_miss(tmp_path):
    cache = Cache(tmp_path / "cache")
    nb = nbformat.v4.new_notebook(metadata={"tabbook": {"key": "ab12"}})
    assert cache.get("ab12") is None
    cache.put("ab12", nb)
    assert cache.get("ab12") == nb
    cache.path("ab12").write_text('{"truncated": ')
    assert cache.get("ab12") is None
    with pytest.raises(ValueError):
        cache.put("cd34", nb)


def test_write_atomic_leaves_no_temp_and_skips_unchanged(tmp_path):
    target = tmp_path / "d" / "f.json"
    assert write_atomic(target, "one")
    mtime = os.stat(target).st_mtime_ns
    assert not write_atomic(target, "one")
    assert os.stat(target).st_mtime_ns == mtime
    assert write_atomic(target, "two") and target.read_text() == "two"
    assert os.listdir(target.parent) == ["f.json"]
