"""MyST -> Jupyter Markdown for the exported notebooks (tabbook.jupyter_markdown)."""
import pytest

from tabbook.jupyter_markdown import LabelIndex, MarkdownConverter, Site

BASE = "https://example.org/book/"

OTHER = """---
tabbook: {frameworks: [pytorch]}
---

(sec-other)=
# The `Other` Page

Text.

(sec_sub)=
## A Subsection

$$E = mc^2$$ (eq-energy)

```{math}
:label: eq-two
a = b
```

```python
(not-a-label)=
# not a heading
```
"""

HERE = """(sec-here)=
# Here

Body.
"""


@pytest.fixture
def index():
    idx = LabelIndex()
    idx.add_page("ch/other", OTHER)
    idx.add_page("ch/here", HERE)
    return idx


def convert(index, text, baseurl=BASE, docname="ch/here"):
    warnings = []
    out = MarkdownConverter(Site(baseurl, index), docname, f"{docname}.md", warnings.append).convert(text, 10)
    return out, warnings


def test_index_reads_labels_titles_and_equations(index):
    assert index.labels["sec-other"].title == "The `Other` Page"
    assert index.labels["sec-other"].anchor == "sec-other"
    assert (index.labels["sec_sub"].docname, index.labels["sec_sub"].anchor) == ("ch/other", "sec-sub")
    assert index.titles == {"ch/other": "The `Other` Page", "ch/here": "Here"}
    assert index.equations["eq-energy"].anchor == "equation-eq-energy"
    assert index.equations["eq-two"].anchor == "equation-eq-two"
    assert "not-a-label" not in index.labels  # inside a code fence


def test_duplicate_labels_are_reported(index):
    index.add_page("ch/third", "(sec-other)=\n# Third\n")
    assert index.labels["sec-other"].docname == "ch/other"
    assert index.duplicates == ["label 'sec-other' is defined in ch/other and ch/third"]


def test_references_become_links_titled_like_their_target(index):
    out, warnings = convert(index, "See {ref}`sec-other`, {ref}`this part <sec_sub>` and "
                                   "{doc}`other`, {numref}`Part %s <sec_sub>`, {eq}`eq-energy`.")
    assert out == (f"See [The `Other` Page]({BASE}ch/other.html#sec-other), "
                   f"[this part]({BASE}ch/other.html#sec-sub) and "
                   f"[The `Other` Page]({BASE}ch/other.html), "
                   f"[Part A Subsection]({BASE}ch/other.html#sec-sub), "
                   f"[the equation]({BASE}ch/other.html#equation-eq-energy).")
    assert warnings == []


def test_unknown_label_is_plain_text_with_a_warning_naming_file_and_line(index):
    out, warnings = convert(index, "Line one.\nSee {ref}`nowhere` here.")
    assert out == "Line one.\nSee nowhere here."
    assert warnings == ["ch/here.md:11: {ref} to unknown label 'nowhere': the notebook shows plain "
                        "text; define the label with (nowhere)= before a heading"]


def test_without_baseurl_references_are_titles(index):
    out, _ = convert(index, "See {ref}`sec-other`.", baseurl="")
    assert out == "See The `Other` Page."


def test_labels_comments_and_math_labels_are_dropped(index):
    text = "(sec-here)=\n# Here\n\n% a comment\n$x$ and\n\n$$y = 1$$ (eq-y)\n\n$$\n% tex comment\nz\n$$ (eq-z)"
    out, _ = convert(index, text)
    assert out == "# Here\n\n$x$ and\n\n$$y = 1$$\n\n$$\n% tex comment\nz\n$$"


def test_code_is_left_alone(index):
    text = ("Use `{ref}` roles like `` {ref}`x` ``.\n\n````md\n(lbl)=\n```{note}\nN\n```\n````\n\n"
            "```python\n% not a comment\n```")
    out, _ = convert(index, text)
    assert out == text


def test_admonitions_become_blockquotes(index):
    text = ("```{note}\nA *note* with {ref}`sec-here`.\n```\n\n"
            ":::{warning} First line.\nSecond.\n:::\n\n"
            "````{admonition} Custom title\n:class: tip\n```{tip}\nNested.\n```\n````")
    out, _ = convert(index, text)
    assert out == (f"> **Note**\n>\n> A *note* with [Here]({BASE}ch/here.html#sec-here).\n\n"
                   "> **Warning**\n>\n> First line.\n>\n> Second.\n\n"
                   "> **Custom title**\n>\n> > **Tip**\n> >\n> > Nested.")


def test_math_and_code_directives(index):
    text = ("```{math}\n:label: eq-a\na = 1\n\nb = 2\n```\n\n"
            "```{code-block} python\n:linenos:\nprint(1)\n```")
    out, _ = convert(index, text)
    assert out == "$$\na = 1\n$$\n\n$$\nb = 2\n$$\n\n```python\nprint(1)\n```"


def test_book_only_directives_link_to_their_section(index):
    text = "(sec-here)=\n# Here\n\n## Two Words\n\n```{d2l-runs}\n:pages: a=b\n```\n\n:::{figure} x.png\nCap\n:::"
    out, _ = convert(index, text)
    sentence = ("*This part of the page is made when the book is built: see it "
                f"[on the book's site]({BASE}ch/here.html#two-words).*")
    assert out == f"# Here\n\n## Two Words\n\n{sentence}\n\n{sentence}"
    out, _ = convert(index, "```{d2l-versions}\n```", baseurl="")
    assert out == "*This part of the page is made when the book is built: see it on the book's site.*"


def test_the_section_carries_over_to_later_cells(index):
    conv = MarkdownConverter(Site(BASE, index), "ch/here")
    conv.convert("(sec-here)=\n# Here")
    assert conv.convert("```{tabbook-runs}\n```").endswith(f"({BASE}ch/here.html#sec-here).*")


def test_toctree_lists_links(index):
    out, warnings = convert(index, "```{toctree}\n:maxdepth: 1\nother\nMine <here>\nmissing\n```")
    assert out == (f"- [The `Other` Page]({BASE}ch/other.html)\n- [Mine]({BASE}ch/here.html)\n"
                   f"- missing")
    assert warnings == ["ch/here.md:10: toctree entry 'missing' names no page of the book; fix "
                        "the entry (a path relative to ch/here)"]


def test_page_links_and_other_roles(index):
    out, _ = convert(index, "[o](other.md#sec-sub), [x](https://x.org/a.md), [n](nope.md), "
                            "{math}`x^2`, H{sub}`2`O, {kbd}`Ctrl`, {abbr}`RNN (recurrent net)`, "
                            "{py:func}`len`, {term}`tensor`, {download}`data <d.csv>`")
    assert out == (f"[o]({BASE}ch/other.html#sec-sub), [x](https://x.org/a.md), [n](nope.md), "
                   "$x^2$, H<sub>2</sub>O, <kbd>Ctrl</kbd>, RNN, `len`, tensor, data")


def test_indented_directive_in_a_list(index):
    out, _ = convert(index, "1. Item\n\n   ```{tip}\n   Indented.\n   ```\n2. Next")
    assert out == "1. Item\n\n   > **Tip**\n   >\n   > Indented.\n2. Next"


def test_a_repeated_heading_is_no_anchor(index):
    out, _ = convert(index, "## Notes\n\n## Notes\n\n```{d2l-runs}\n```")
    assert out.endswith(f"[on the book's site]({BASE}ch/here.html).*")


def test_an_extension_role_links_to_its_section(index):
    out, _ = convert(index, "## Downloads\n\nGet {archive}`the notebooks <pytorch>` or {archive}`site`.\n\n"
                            "## Next")
    assert out == (f"## Downloads\n\nGet [the notebooks]({BASE}ch/here.html#downloads) or "
                   f"[site]({BASE}ch/here.html#downloads).\n\n## Next")
