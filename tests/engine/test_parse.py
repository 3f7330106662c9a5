import pytest

from tabbook.parse import SourceError, has_tabbook_content, parse_page
from enginelib import FRONT, line_of, write_page

BODY = """# Title

```{code-cell} ipython3
shared = 1
```

```{code-cell} ipython3
:tags: [hide-input]
%%tab pytorch, jax
both = 2
```

```{code-cell} ipython3
:tags: [tab-jax]
only_jax = 3
```

```{code-cell} ipython3
%%tab all
every = 4
```

````{fw-block} jax
JAX only, with code:
```python
x
```
````
"""


def test_cells_frameworks_and_lines(tmp_path, config):
    path = write_page(tmp_path, "ch/p.md", BODY)
    page = parse_page(path, config)
    assert page.rel == "ch/p.md" and page.docname == "ch/p"
    assert page.frameworks == ["pytorch", "jax"]
    code = page.code_cells
    assert [c.frameworks for c in code] == [None, ("pytorch", "jax"), ("jax",), ("pytorch", "jax")]
    assert [c.source for c in code] == ["shared = 1", "both = 2", "only_jax = 3", "every = 4"]
    assert [c.line for c in code] == [line_of(path, s) for s in ("shared = 1", "both = 2", "only_jax = 3",
                                                                  "every = 4")]
    assert code[1].metadata == {"tags": ["hide-input"]}  # tab-* tags removed, others kept
    assert code[2].metadata == {}
    assert has_tabbook_content(page)


def test_page_without_frameworks_runs_in_the_first(tmp_path, config):
    path = write_page(tmp_path, "p.md", "# T\n\n```{code-cell}\nx = 1\n```\n", front="")
    page = parse_page(path, config)
    assert page.frameworks == ["pytorch"]
    assert page.code_cells[0].frameworks is None


def test_plain_page_has_no_tabbook_content(tmp_path, config):
    page = parse_page(write_page(tmp_path, "p.md", "# Just prose\n", front=""), config)
    assert not has_tabbook_content(page)


@pytest.mark.parametrize("body, bad_line, words", [
    ("```{code-cell}\n%%tab pytroch\nx = 1\n```\n", "%%tab pytroch", "pytroch"),
    ("```{code-cell}\n%%tab\nx = 1\n```\n", "%%tab", "names no framework"),
    ("```{code-cell}\n%%tabs jax\nx = 1\n```\n", "%%tabs jax", "malformed"),
    ("```{code-cell}\n:tags: [tab-tensorflow]\nx = 1\n```\n", "x = 1", "tensorflow"),
    ("Text\n\n```{fw-block} jx\nhi\n```\n", "```{fw-block} jx", "jx"),
    ("Text\n\n````{fw-block} jax\nhi\n", "````{fw-block} jax", "unclosed"),
    ("```{fw-block} jax\n```python\nx\n```\n```\n", "```python", "longer"),
])
def test_malformed_markup_names_file_and_line(tmp_path, config, body, bad_line, words):
    path = write_page(tmp_path, "ch/bad.md", body)
    with pytest.raises(SourceError) as e:
        parse_page(path, config)
    msg = str(e.value)
    assert msg.startswith(f"ch/bad.md:{line_of(path, bad_line)}:"), msg
    assert words in msg


def test_markup_without_declared_frameworks(tmp_path, config):
    path = write_page(tmp_path, "p.md", "# T\n\n```{code-cell}\n%%tab jax\nx = 1\n```\n", front="")
    with pytest.raises(SourceError, match=rf"p.md:{line_of(path, '%%tab jax')}: .*declares no frameworks"):
        parse_page(path, config)


def test_unknown_framework_in_front_matter(tmp_path, config):
    path = write_page(tmp_path, "p.md", "# T\n", front=FRONT.replace("[pytorch, jax]", "[pytorch, caffe]"))
    with pytest.raises(SourceError, match="caffe"):
        parse_page(path, config)
