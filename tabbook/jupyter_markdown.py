"""MyST Markdown -> plain Jupyter Markdown, for the exported notebooks.

The pages are written in MyST; Jupyter and Colab render CommonMark with ``$``/``$$`` math and
HTML. :class:`MarkdownConverter` rewrites one page's markdown cells for them:

- labels ``(name)=`` and ``%`` comment lines are dropped; ``$$ ... $$ (label)`` loses its label;
- ``{ref}``, ``{numref}``, ``{doc}`` and ``{eq}`` become Markdown links to the page on the
  published site (``html.baseurl`` of ``_config.yml``), with the anchor Sphinx gives the target;
  without explicit text, a link reads as the target's title (the section's heading). Relative
  links to other pages (``[text](other.md#x)``) point to the site as well. Other roles become
  their text (``{math}`` -> ``$...$``, code roles -> code spans, ``{sub}``/``{sup}``/``{kbd}``
  -> HTML); a role Sphinx does not know (one of the book's extensions, such as a download)
  becomes its text, linked to the section of the site where it is;
- directives in backtick or colon fences: admonitions become a blockquote with a bold title,
  ``{math}`` becomes ``$$ ... $$``, code directives plain code fences, ``{toctree}`` a list of
  links, containers their content; any other directive (the book's own ``_ext`` directives,
  figures, tables) is replaced by one sentence linking to the place on the site where its
  output is.

Plain code fences and code spans are copied untouched. Without a base URL (``html.baseurl``
unset) no link is made: references read as their titles and the sentences name the book's site
without linking to it.

:class:`LabelIndex` maps the labels of all pages of the book to (page, anchor, title), read from
the page sources the way Sphinx resolves them: a label before a heading names that section.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from docutils.nodes import make_id

from .markup import DIRECTIVE_INFO as DIRECTIVE
from .markup import fences

LABEL = re.compile(r"^\s*\(([^()\s]+)\)=\s*$")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
COMMENT = re.compile(r"^\s*%")
OPTION = re.compile(r"^\s*:([\w-]+):\s*(.*?)\s*$")
MATH_LABEL = re.compile(r"^(.*\$\$)\s*\(([^()\s]+)\)\s*$")
EXPLICIT = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.S)
ROLE_NAME = re.compile(r"\{([A-Za-z][\w:.+-]*)\}(?=`)")
PAGE_LINK = re.compile(r"(\]\()(?!\w+:|#|/)([^()\s]+?\.(?:md|ipynb))(#[^()\s]*)?(\))")

ADMONITIONS = {"note": "Note", "tip": "Tip", "hint": "Hint", "important": "Important",
               "warning": "Warning", "caution": "Caution", "attention": "Attention",
               "danger": "Danger", "error": "Error", "seealso": "See also", "todo": "To do"}
TITLED = {"admonition": "", "dropdown": "Details", "topic": "", "sidebar": "", "margin": "",
          "card": ""}  # the argument is the title
QUOTES = {"epigraph", "pull-quote", "highlights", "blockquote"}
CONTAINERS = {"div", "container", "fw-block", "only", "tab-set", "grid", "grid-item"}
CODE = {"code-block", "code", "sourcecode", "code-cell"}
CODE_ROLES = {"code", "literal", "samp", "file", "command", "program", "envvar", "option",
              "regexp", "makevar", "mailheader", "mimetype", "newsgroup", "dfn"}
TEXT_ROLES = {"term", "any", "download", "guilabel", "menuselection", "index", "cite", "cite:p",
              "cite:t", "title-reference", "pep", "rfc"}
HTML_ROLES = {"sub": "sub", "sup": "sup", "subscript": "sub", "superscript": "sup", "kbd": "kbd"}


def plain(title: str) -> str:
    """A heading's text as Sphinx sees it (for its id): without Markdown emphasis and code marks."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)
    return re.sub(r"[`*_]", "", text)


def split_explicit(content: str) -> tuple[str, str]:
    """``text <target>`` -> (text, target); ``target`` -> ("", target)."""
    m = EXPLICIT.match(content.strip())
    return (m.group(1).strip(), m.group(2).strip()) if m and m.group(1).strip() else ("", content.strip())


def front_matter_end(lines: list[str]) -> int:
    """Index of the first line after a page's YAML front matter (0 without front matter)."""
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() == "---":
                return i + 1
    return 0


@dataclass(frozen=True)
class Target:
    docname: str
    anchor: str  # the HTML id Sphinx gives it ("" = the page)
    title: str  # link text of a reference without its own


@dataclass
class LabelIndex:
    """Labels, equations and page titles of the book, read from the page sources."""
    labels: dict[str, Target] = field(default_factory=dict)
    equations: dict[str, Target] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # docname -> the page's first heading
    duplicates: list[str] = field(default_factory=list)

    @classmethod
    def from_pages(cls, root, paths) -> "LabelIndex":
        index = cls()
        for path in paths:
            rel = Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
            index.add_page(rel.rsplit(".", 1)[0], Path(path).read_text(encoding="utf-8"))
        return index

    def _add(self, table: dict, name: str, target: Target) -> None:
        if name in table and table[name] != target:
            self.duplicates.append(f"label {name!r} is defined in {table[name].docname} and "
                                   f"{target.docname}")
        table.setdefault(name, target)

    def add_page(self, docname: str, text: str) -> None:
        lines = text.split("\n")
        start = front_matter_end(lines)
        pending: list[str] = []
        for i, end, _indent, _fence, info in fences(lines[start:]):
            if end is not None:
                self._directive_targets(docname, info, lines[start + i + 1:start + end])
                pending = []
                continue
            line = lines[start + i]
            m = LABEL.match(line)
            if m:
                pending.append(m.group(1))
                continue
            h = HEADING.match(line)
            if h:
                title = h.group(2)
                self.titles.setdefault(docname, title)
                for name in pending:
                    self._add(self.labels, name, Target(docname, make_id(name), title))
                pending = []
            elif line.strip():
                eq = MATH_LABEL.match(line)
                if eq:
                    name = eq.group(2)
                    self._add(self.equations, name, Target(docname, make_id(f"equation-{name}"), name))
                for name in pending:  # a label before a paragraph: a link without a title
                    self._add(self.labels, name, Target(docname, make_id(name), name))
                pending = []

    def _directive_targets(self, docname: str, info: str, body: list[str]) -> None:
        d = DIRECTIVE.match(info)
        if not d:
            return
        for line in body:
            o = OPTION.match(line)
            if not o:
                break
            if o.group(1) == "label" and d.group(1) == "math":
                self._add(self.equations, o.group(2),
                          Target(docname, make_id(f"equation-{o.group(2)}"), o.group(2)))
            elif o.group(1) == "name":
                self._add(self.labels, o.group(2),
                          Target(docname, make_id(o.group(2)), d.group(2) or o.group(2)))


@dataclass
class Site:
    """Where the book's pages are published: ``baseurl`` + docname + ``.html``."""
    baseurl: str  # "" = unknown: no links
    index: LabelIndex

    def url(self, docname: str, anchor: str = "") -> str:
        if not self.baseurl:
            return ""
        return f"{self.baseurl.rstrip('/')}/{docname}.html" + (f"#{anchor}" if anchor else "")


def _ticks(text: str, i: int) -> int:
    """Length of the run of backticks at ``text[i]``."""
    return len(text) - i - len(text[i:].lstrip("`"))


def link(text: str, url: str) -> str:
    return f"[{text}]({url})" if url else text


class MarkdownConverter:
    """Converts the markdown cells of one page, in order (it follows the section they are in,
    for the links of replaced directives). ``warn`` receives ``path:line: message`` strings."""

    def __init__(self, site: Site, docname: str, path: str = "", warn: Callable[[str], None] | None = None):
        self.site, self.docname = site, docname
        self.path = path or docname
        self.warn = warn or (lambda message: None)
        self.anchor = ""  # id of the section the text converted last is in
        self.headings: set[str] = set()  # ids of the headings seen so far

    # ----------------------------------------------------------------------------- blocks
    def convert(self, text: str, line: int = 1) -> str:
        """``text``: a markdown cell whose first line is line ``line`` of the page."""
        out = self._blocks(text.split("\n"), line)
        return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")

    def _blocks(self, lines: list[str], line0: int) -> list[str]:
        out: list[str] = []
        para: list[str] = []
        para_line = line0
        pending: list[str] = []
        in_math = False

        def flush():
            if para:
                out.extend(self._inline("\n".join(para), para_line).split("\n"))
                para.clear()

        for i, end, indent, fence, info in fences(lines):
            if end is not None and in_math:  # a fence-like line in $$ math: not a fence
                para.extend(lines[i:end + 1])
                continue
            if end is not None:
                flush()
                d = DIRECTIVE.match(info)
                body = [ln[len(indent):] if ln.startswith(indent) else ln.lstrip()
                        for ln in lines[i + 1:end]]
                if d:
                    rendered = self._directive(d.group(1), d.group(2), body, line0 + i, pending)
                    out.extend(indent + ln if ln else "" for ln in rendered)
                else:
                    out.extend(lines[i:end + 1])
                pending = []
                para_line = line0 + end + 1
                continue
            ln = lines[i]
            if in_math:
                if "$$" in ln:
                    in_math = False
                    m = MATH_LABEL.match(ln)
                    ln = m.group(1) if m else ln
                para.append(ln)
                continue
            if LABEL.match(ln):
                pending.append(LABEL.match(ln).group(1))
                continue
            if COMMENT.match(ln):
                continue
            h = HEADING.match(ln)
            if h:  # the text before it is in the previous section
                flush()
            if not para:
                para_line = line0 + i
            if h:
                anchor = make_id(plain(h.group(2)))
                # docutils gives a repeated heading another id: link to the page instead
                self.anchor = make_id(pending[0]) if pending else "" if anchor in self.headings else anchor
                self.headings.add(anchor)
            stripped = ln.strip()
            if stripped.startswith("$$") and stripped.count("$$") == 1:
                in_math = True
            else:
                m = MATH_LABEL.match(ln)
                ln = m.group(1) if m and stripped.startswith("$$") else ln
            if stripped:
                pending = []
            para.append(ln)
        flush()
        return out

    def _directive(self, name: str, arg: str, body: list[str], line: int, labels: list[str]) -> list[str]:
        options, content = self._options(body)
        if name in ADMONITIONS or name in TITLED:
            if name in ADMONITIONS:
                title = ADMONITIONS[name]
                content = ([arg, ""] if arg else []) + content
            else:
                title = arg or TITLED[name]
            inner = self._blocks(content, line + 1 + len(body) - len(content))
            return self._quote(([f"**{title}**", ""] if title else []) + inner)
        if name in QUOTES:
            return self._quote(self._blocks(content, line + 1))
        if name in CONTAINERS:
            return self._blocks(content, line + 1)
        if name == "rubric":
            return [f"**{arg}**"]
        if name == "math":
            return self._math(([arg] if arg else []) + content)
        if name in CODE:
            ticks = max([3] + [len(t) + 1 for t in re.findall(r"`{3,}", "\n".join(content))])
            lang = arg.split()[0] if arg else ""
            return ["`" * ticks + lang] + content + ["`" * ticks]
        if name == "raw":
            return content if arg.strip().lower() == "html" else []
        if name == "toctree":
            return self._toctree(content, line)
        url = self.site.url(self.docname, make_id(labels[0]) if labels else self.anchor)
        where = link("on the book's site", url)
        return [f"*This part of the page is made when the book is built: see it {where}.*"]

    @staticmethod
    def _options(body: list[str]) -> tuple[dict, list[str]]:
        """Split a directive's body into its options (``:key: value`` or a ``---`` YAML block)
        and its content."""
        options: dict = {}
        i = 0
        if body and body[0].strip() == "---":
            j = next((k for k in range(1, len(body)) if body[k].strip() == "---"), None)
            if j is not None:
                import yaml
                try:
                    options = yaml.safe_load("\n".join(body[1:j])) or {}
                except yaml.YAMLError:
                    options = {}
                i = j + 1
        else:
            while i < len(body) and OPTION.match(body[i]):
                o = OPTION.match(body[i])
                options[o.group(1)] = o.group(2)
                i += 1
        content = body[i:]
        while content and not content[0].strip():
            content = content[1:]
        return options, content

    @staticmethod
    def _quote(lines: list[str]) -> list[str]:
        return [f"> {ln}" if ln.strip() else ">" for ln in lines]

    @staticmethod
    def _math(lines: list[str]) -> list[str]:
        """Each blank-line-separated equation in its own ``$$ ... $$`` block."""
        out, chunk = [], []
        for ln in lines + [""]:
            if ln.strip():
                chunk.append(ln)
            elif chunk:
                out += ["$$"] + chunk + ["$$", ""]
                chunk = []
        return out[:-1]

    def _toctree(self, content: list[str], line: int) -> list[str]:
        out = []
        for entry in content:
            if not entry.strip() or OPTION.match(entry):
                continue
            text, target = split_explicit(entry)
            if re.match(r"\w+:", target):
                out.append(f"- {link(text or target, target)}")
                continue
            doc = self._docname(target)
            title = text or self.site.index.titles.get(doc)
            if title is None:
                self.warn(f"{self.path}:{line}: toctree entry {target!r} names no page of the book; "
                          f"fix the entry (a path relative to {self.docname})")
                out.append(f"- {target}")
                continue
            out.append(f"- {link(title, self.site.url(doc))}")
        return out

    # ----------------------------------------------------------------------------- inline
    def _inline(self, text: str, line0: int) -> str:
        """Roles and page links of a paragraph; code spans are kept as they are."""
        out: list[str] = []  # converted text and code spans, alternately
        prose = ""
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "`":
                n = _ticks(text, i)
                m = re.compile(r"(?<!`)`{%d}(?!`)" % n).search(text, i + n)
                end = m.end() if m else i + n
                out += [PAGE_LINK.sub(self._page_link, prose), text[i:end]]
                prose, i = "", end
                continue
            r = ROLE_NAME.match(text, i) if ch == "{" else None
            if r:
                n = _ticks(text, r.end())
                m = re.compile(r"(?<!`)`{%d}(?!`)" % n).search(text, r.end() + n)
                if m:
                    content = text[r.end() + n:m.start()]
                    prose += self._role(r.group(1), content, line0 + text.count("\n", 0, i))
                    i = m.end()
                    continue
            prose += ch
            i += 1
        return "".join(out) + PAGE_LINK.sub(self._page_link, prose)

    def _page_link(self, m: re.Match) -> str:
        doc = self._docname(m.group(2))
        if doc not in self.site.index.titles or not self.site.baseurl:
            return m.group(0)
        return m.group(1) + self.site.url(doc, (m.group(3) or "#")[1:]) + m.group(4)

    def _docname(self, target: str) -> str:
        """A page path as roles and links write it (relative, or absolute from the book root)."""
        target = re.sub(r"\.(md|ipynb)$", "", target.strip())
        if target.startswith("/"):
            return target.lstrip("/")
        base = self.docname.rsplit("/", 1)[0] + "/" if "/" in self.docname else ""
        parts: list[str] = []
        for part in (base + target).split("/"):
            if part == "..":
                parts = parts[:-1]
            elif part not in ("", "."):
                parts.append(part)
        return "/".join(parts)

    def _role(self, name: str, content: str, line: int) -> str:
        text, target = split_explicit(content)
        if name in ("ref", "numref"):
            hit = self.site.index.labels.get(target) or self.site.index.labels.get(target.lower())
            if hit is None:
                self.warn(f"{self.path}:{line}: {{{name}}} to unknown label {target!r}: the notebook "
                          f"shows plain text; define the label with ({target})= before a heading")
                return text or target
            if name == "numref" and text:
                text = text.replace("%s", hit.title).replace("{number}", hit.title) \
                    .replace("{name}", hit.title)
            return link(text or hit.title, self.site.url(hit.docname, hit.anchor))
        if name == "doc":
            doc = self._docname(target)
            title = self.site.index.titles.get(doc)
            if title is None:
                self.warn(f"{self.path}:{line}: {{doc}} to unknown page {target!r}: the notebook "
                          f"shows plain text; name a page of the book relative to {self.docname}")
                return text or target
            return link(text or title, self.site.url(doc))
        if name == "eq":
            hit = self.site.index.equations.get(target)
            if hit is None:
                self.warn(f"{self.path}:{line}: {{eq}} to unknown equation label {target!r}: label "
                          f"it with `$$ ... $$ ({target})` or a math directive's :label:")
                return text or target
            return link(text or "the equation", self.site.url(hit.docname, hit.anchor))
        if name == "math":
            return f"${content}$"
        if name in HTML_ROLES:
            return f"<{HTML_ROLES[name]}>{content}</{HTML_ROLES[name]}>"
        if name == "abbr":
            return re.sub(r"\s*\([^)]*\)\s*$", "", content)
        if name in TEXT_ROLES:
            return text or target
        if name in CODE_ROLES or ":" in name:  # {py:func} and other domain roles
            return f"`{text or target}`"
        if name in ("emphasis", "strong"):
            mark = "*" if name == "emphasis" else "**"
            return f"{mark}{content}{mark}"
        # a role of the book's own extensions (a download, a computed value): its text, linking
        # to the section of the site where the role's output is
        return link(text or target, self.site.url(self.docname, self.anchor))
