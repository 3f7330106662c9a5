"""tabbook.markup: one rule for framework names, fences and fw-blocks, and every reader using it."""
import pytest

from tabbook import markup
from tabbook.markup import MarkupError, check_names, fences, fw_blocks, has_markup, resolve_fw_blocks, split_names
from tabbook.parse import SourceError, parse_page
from enginelib import line_of, write_page


@pytest.mark.parametrize("text", ["mxnet, tensorflow", "mxnet tensorflow", "mxnet,tensorflow",
                                  "  mxnet ,\ttensorflow  "])
def test_names_split_on_commas_and_or_spaces(text):
    assert split_names(text) == ["mxnet", "tensorflow"]


def test_names_from_a_yaml_list():
    assert split_names(["pytorch", "jax mxnet"]) == ["pytorch", "jax", "mxnet"]


def test_unknown_name_suggests_the_close_match():
    with pytest.raises(MarkupError) as e:
        check_names(["pytroch", "jax"], ["pytorch", "jax", "mxnet"], "fw-block", 7)
    assert e.value.line == 7
    assert "'pytroch'" in e.value.message and "did you mean 'pytorch'?" in e.value.message
    with pytest.raises(MarkupError) as e:
        check_names(["zzz"], ["pytorch", "jax"], "%%tab")
    assert "'zzz' matches none" in e.value.message and "known here: pytorch, jax" in e.value.message


def test_no_names_is_an_error_listing_the_known_ones():
    with pytest.raises(MarkupError, match="names no framework.*pytorch, jax"):
        check_names([], ["pytorch", "jax"], "fw-block")


@pytest.mark.parametrize("marker", ["```", ":::", "~~~", "````", "::::"])
def test_fw_block_in_every_fence_kind(marker):
    text = f"before\n{marker}{{fw-block}} jax pytorch\nonly them\n{marker}\nafter"
    [block] = fw_blocks(text, ["pytorch", "jax"], line0=10)
    assert (block.line, block.end_line, block.frameworks) == (11, 13, ("jax", "pytorch"))
    assert has_markup(text)
    assert resolve_fw_blocks(text, "jax") == "before\nonly them\nafter"
    assert resolve_fw_blocks(text, "mxnet") == "before\nafter"


def test_fence_closes_only_on_same_character_at_least_as_long():
    lines = ["````md", "```{fw-block} jax", "example", "```", "~~~~", "````", "after"]
    got = list(fences(lines))
    assert got[0] == (0, 5, "", "````", "md")  # the ``` and ~~~~ lines inside do not close it
    assert got[1] == (6, None, "", "", "")
    assert fw_blocks("\n".join(lines), ["jax"]) == []  # an fw-block shown as an example
    assert not has_markup("\n".join(lines))
    tilde = ["~~~", "```", "~~~~", "x"]  # a longer fence of the same character closes it
    assert list(fences(tilde))[0][:2] == (0, 2)


def test_nested_fw_block_inside_a_longer_fence():
    text = "::::{fw-block} jax\n:::{note}\nhi\n:::\n::::\n"
    [block] = fw_blocks(text, ["jax"])
    assert block.end_line == 5
    assert resolve_fw_blocks(text, "jax") == ":::{note}\nhi\n:::"


def test_nested_block_as_long_as_the_fw_block_says_make_it_longer():
    text = "```{fw-block} jax\nintro\n```{note}\nhi\n```\nmore\n```\n"
    with pytest.raises(MarkupError) as e:
        fw_blocks(text, ["jax"], line0=20)
    assert e.value.line == 22  # the inner opening
    assert "make the fw-block's fence longer" in e.value.message and "````{fw-block}" in e.value.message


def test_unclosed_fw_block_mid_page_says_unclosed_where_and_what_closes_it():
    # the author forgot the fw-block's closing line; later fences pair up among themselves
    text = ("```{fw-block} jax\nJAX prose\n\n```{note}\nA note.\n```\n\n"
            "```python\ncode\n```\n\nShared prose.\n")
    with pytest.raises(MarkupError) as e:
        fw_blocks(text, ["jax"], line0=5)
    assert e.value.line == 5
    msg = e.value.message
    assert "unclosed fw-block" in msg and "add a line holding only ```" in msg
    assert "longer" not in msg


def test_unclosed_fw_block_at_the_end_and_before_another_fw_block():
    for text in ("~~~{fw-block} jax\ntext\n", ":::{fw-block} jax\na\n:::{fw-block} pytorch\nb\n:::\n"):
        with pytest.raises(MarkupError, match="unclosed fw-block") as e:
            fw_blocks(text, ["jax", "pytorch"], line0=1)
        assert e.value.line == 1


def test_has_markup_sees_code_cells_in_every_fence():
    assert has_markup(":::{code-cell} ipython3\nx = 1\n:::")
    assert has_markup("~~~{code-cell} ipython3\nx = 1\n~~~")
    assert not has_markup("plain\n```python\nx = 1\n```")


# ------------------------------------------------------------------------- the engine uses it

def test_parse_reports_markup_errors_at_page_lines(tmp_path, config):
    p = write_page(tmp_path, "a.md", "# A\n\n~~~{fw-block} jax\nJAX\n~~~\n\n:::{fw-block} pytroch\nx\n:::\n")
    with pytest.raises(SourceError) as e:
        parse_page(p, config)
    assert e.value.line == line_of(p, ":::{fw-block} pytroch")
    assert "a.md:" in e.value.format() and "did you mean 'pytorch'?" in e.value.message


def test_parse_accepts_space_separated_names_in_every_fence(tmp_path, config):
    p = write_page(tmp_path, "a.md", "# A\n\n~~~{fw-block} jax pytorch\nboth\n~~~\n\n"
                   ":::{fw-block} jax\nJAX\n:::\n")
    page = parse_page(p, config)
    assert [c.kind for c in page.cells] == ["markdown"]


def test_parse_unclosed_fw_block_mid_page(tmp_path, config):
    p = write_page(tmp_path, "a.md", "# A\n\n```{fw-block} jax\nJAX only\n\n```{note}\nN\n```\n\n"
                   "Shared.\n\n```{code-cell} ipython3\nx = 1\n```\n")
    with pytest.raises(SourceError) as e:
        parse_page(p, config)
    assert e.value.line == line_of(p, "```{fw-block} jax")
    assert "unclosed fw-block" in e.value.message


def test_tab_tag_with_unknown_name_names_the_tag_and_suggests(tmp_path, config):
    p = write_page(tmp_path, "a.md", "```{code-cell} ipython3\n:tags: [tab-jaxx]\nx = 1\n```\n")
    with pytest.raises(SourceError) as e:
        parse_page(p, config)
    assert "tab-<name>" in e.value.message and "did you mean 'jax'?" in e.value.message


def test_every_reader_uses_the_one_rule():
    from tabbook import export, jupyter_markdown
    from tabbook import magic
    from tabbook.sphinx import fw_block, reader
    assert fw_block.split_names is markup.split_names
    assert magic.split_names is markup.split_names  # the %%tab line's names
    assert export.resolve_fw_blocks is markup.resolve_fw_blocks
    assert jupyter_markdown.fences is markup.fences
    assert reader.has_markup is markup.has_markup


def test_sphinx_directive_splits_names_like_the_engine(tmp_path):
    """A real Sphinx read of ``{fw-block} mxnet tensorflow`` in backtick, colon and tilde fences."""
    from sphinx.application import Sphinx
    from tabbook.sphinx.fw_block import fw_block

    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        "extensions = ['myst_parser']\nmyst_enable_extensions = ['colon_fence']\n"
        "def setup(app):\n    from tabbook.sphinx import fw_block\n    fw_block.setup(app)\n")
    (src / "index.md").write_text(
        "# T\n\n```{fw-block} mxnet tensorflow\nA\n```\n\n:::{fw-block} mxnet, jax\nB\n:::\n\n"
        "~~~{fw-block} pytorch,jax\nC\n~~~\n")
    app = Sphinx(str(src), str(src), str(tmp_path / "out"), str(tmp_path / "doctrees"), "dummy",
                 status=None, warning=None, freshenv=True)
    app.build()
    tree = app.env.get_doctree("index")
    assert [n["frameworks"] for n in tree.findall(fw_block)] == [
        ["mxnet", "tensorflow"], ["mxnet", "jax"], ["pytorch", "jax"]]


def test_front_matter_framework_names_reported_at_their_line(tmp_path, config):
    front = "---\ntitle: t\ntabbook:\n  frameworks: [pytorch, jaxx]\n---\n"
    p = write_page(tmp_path, "a.md", "# A\n", front=front)
    with pytest.raises(SourceError) as e:
        parse_page(p, config)
    assert e.value.line == line_of(p, "  frameworks: [pytorch, jaxx]")
    assert "did you mean 'jax'?" in e.value.message
