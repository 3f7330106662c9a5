"""Framework markup, recognised in one place: framework-name lists, fences and fw-block spans.

Every reader of a page uses this module: :mod:`.parse` (the engine), :mod:`.export` and
:mod:`.jupyter_markdown` (the readers' notebooks), the ``fw-block`` directive and the Sphinx
reader. The rules:

- **Names.** A list of framework names is split on commas and/or white space
  (``"mxnet, tensorflow"``, ``"mxnet tensorflow"`` and ``"mxnet,tensorflow"`` are the same).
  An unknown name is an error that suggests the close matches (:func:`check_names`).
- **Fences.** A fence opens with three or more backticks, tildes or colons (MyST's
  ``colon_fence``), optionally indented, followed by its info string (``{fw-block} jax``).
  It is closed by the first later line holding only the same character, at least as many
  times (CommonMark). Inside a fence, an opening of the same character that is at least as
  long would be closed by the outer fence's closing line: MyST nests directives by making the
  outer fence longer.
- **fw-blocks.** ``{fw-block} a, b`` on a fence opens prose shown only to those frameworks'
  readers; :func:`fw_blocks` checks every one of a markdown text, in one scan, with errors
  that say what to change.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,}|:{3,})\s*(.*?)\s*$")
DIRECTIVE_INFO = re.compile(r"^\{([A-Za-z][\w:.+-]*)\}\s*(.*?)\s*$")
FW_BLOCK = "fw-block"
CODE_CELL = "code-cell"


class MarkupError(Exception):
    """Malformed markup at ``line`` (1-based, in the text given plus its offset)."""

    def __init__(self, line: int, message: str):
        self.line, self.message = line, message
        super().__init__(f"line {line}: {message}")


# ---------------------------------------------------------------------------------- names

def split_names(text) -> list[str]:
    """Framework names from ``"a, b"``, ``"a b"`` or ``"a,b"`` (or a YAML list of them)."""
    if isinstance(text, (list, tuple)):
        return [n for item in text for n in split_names(str(item))]
    return [n for n in re.split(r"[\s,]+", str(text or "").strip()) if n]


def suggest(name: str, known) -> str:
    """`` (did you mean 'x'?)`` for a close match of ``name`` among ``known``, else ``""``."""
    close = difflib.get_close_matches(name, list(known), n=2, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"


def unknown_names_message(what: str, bad, known) -> str:
    hints = "".join(f"\n  {b!r}{suggest(b, known) or ' matches none'}" for b in bad)
    return (f"{what} names unknown framework{'s' * (len(bad) != 1)} {', '.join(map(repr, bad))} "
            f"(known here: {', '.join(known)}); fix the name{'s' * (len(bad) != 1)}:{hints}")


def check_names(names, known, what: str, line: int = 0) -> tuple[str, ...]:
    """``names`` (deduplicated, in order) if every one is in ``known``; else :class:`MarkupError`."""
    names = list(dict.fromkeys(names))
    if not names:
        raise MarkupError(line, f"{what} names no framework (name one or more of: {', '.join(known)})")
    bad = [n for n in names if n not in known]
    if bad:
        raise MarkupError(line, unknown_names_message(what, bad, known))
    return tuple(names)


# --------------------------------------------------------------------------------- fences

@dataclass(frozen=True)
class Fence:
    start: int  # 0-based index of the opening line
    end: int | None  # index of the closing line; None when the fence is never closed
    indent: str
    marker: str  # e.g. "```", "::::", "~~~"
    info: str  # what follows the marker on the opening line

    @property
    def directive(self) -> str | None:
        m = DIRECTIVE_INFO.match(self.info)
        return m.group(1) if m else None

    @property
    def argument(self) -> str:
        m = DIRECTIVE_INFO.match(self.info)
        return m.group(2) if m else ""

    def closes(self, line: str) -> bool:
        return is_close(line, self.marker)


def is_close(line: str, marker: str) -> bool:
    """Whether ``line`` closes a fence opened with ``marker``."""
    s = line.strip()
    return len(s) >= len(marker) and s == marker[0] * len(s)


def find_close(lines: list[str], start: int, marker: str) -> int | None:
    for j in range(start + 1, len(lines)):
        if is_close(lines[j], marker):
            return j
    return None


def opening(line: str):
    """``(indent, marker, info)`` when ``line`` opens a fence, else None."""
    m = FENCE.match(line)
    return m.groups() if m else None


def scan(lines: list[str]):
    """Yield, in order, each top-level :class:`Fence` and the index (int) of every line outside
    fences. An unclosed fence takes every line after it (its ``end`` is None)."""
    i = 0
    while i < len(lines):
        o = opening(lines[i])
        if o is None:
            yield i
            i += 1
            continue
        indent, marker, info = o
        end = find_close(lines, i, marker)
        yield Fence(i, end, indent, marker, info)
        if end is None:
            return
        i = end + 1


def fences(lines: list[str]):
    """:func:`scan` as tuples ``(start, end, indent, marker, info)``: ``end`` is ``len(lines)``
    for an unclosed fence, and None (with empty strings) for a line outside fences."""
    for item in scan(lines):
        if isinstance(item, int):
            yield item, None, "", "", ""
        else:
            yield item.start, len(lines) if item.end is None else item.end, item.indent, item.marker, item.info


# ------------------------------------------------------------------------------ fw-blocks

@dataclass(frozen=True)
class FwBlock:
    line: int  # 1-based line of the opening fence (with the offset given)
    end_line: int  # 1-based line of its closing fence
    frameworks: tuple[str, ...]
    fence: Fence  # indices relative to the scanned text


def fw_block_names(info: str) -> list[str] | None:
    """The names of a fence's info string ``{fw-block} a, b``; None when it is no fw-block."""
    m = DIRECTIVE_INFO.match(info)
    return split_names(m.group(2)) if m and m.group(1) == FW_BLOCK else None


def _unclosed(fence: Fence, line0: int) -> MarkupError:
    m = fence.marker
    return MarkupError(line0 + fence.start, (
        f"unclosed fw-block: the {m}{{fw-block}} {fence.argument} opened here has no closing "
        f"{m} line; add a line holding only {m} where its content ends"))


def _check_inner(lines, fence: Fence, line0: int) -> None:
    """Inside a fence, a same-character opening at least as long as the fence's own is closed by
    the fence's closing line. Say which fix applies: read with every nested opening paired with
    its own closing line, a fw-block that still finds its closing line needs a longer fence;
    one that finds none is unclosed."""
    marker = fence.marker
    clash = None
    j = fence.start + 1
    while j < len(lines):
        o = opening(lines[j])
        if o and o[2]:  # a nested opening (with an info string): skip to its own closing line
            if clash is None and o[1][0] == marker[0] and len(o[1]) >= len(marker):
                clash = (j, o)
            close = find_close(lines, j, o[1])
            if close is None:
                break
            j = close + 1
            continue
        if is_close(lines[j], marker):
            break
        j += 1
    else:
        j = len(lines)
    if clash is None:
        return
    if j >= len(lines) or not is_close(lines[j], marker):
        raise _unclosed(fence, line0)
    at, (_indent, inner, info) = clash
    longer = marker[0] * (len(inner) + 1)
    raise MarkupError(line0 + at, (
        f"the {inner}{info.split(' ', 1)[0]} inside the fw-block of line {line0 + fence.start} "
        f"uses a fence as long as the fw-block's ({marker}), so it closes the fw-block early: "
        f"make the fw-block's fence longer ({longer}{{fw-block}} ... {longer})"))


def fw_blocks(text: str, known=None, line0: int = 1) -> list[FwBlock]:
    """Every top-level fw-block of a markdown text, checked. ``known``: the framework names
    allowed (None: any); ``line0``: the page line of the text's first line."""
    lines = text.split("\n")
    found = []
    for item in scan(lines):
        if isinstance(item, int):
            continue
        names = fw_block_names(item.info)
        if names is None:
            continue
        line = line0 + item.start
        if known is not None:
            names = list(check_names(names, list(known), "fw-block", line))
        elif not names:
            raise MarkupError(line, "fw-block names no framework (e.g. ```{fw-block} pytorch, jax)")
        if item.end is None:
            raise _unclosed(item, line0)
        _check_inner(lines, item, line0)
        found.append(FwBlock(line, line0 + item.end, tuple(dict.fromkeys(names)), item))
    return found


def has_markup(text: str) -> bool:
    """Whether a markdown text holds a code cell or an fw-block at its top level."""
    lines = text.split("\n")
    return any(not isinstance(f, int) and f.directive in (FW_BLOCK, CODE_CELL) for f in scan(lines))


def resolve_fw_blocks(text: str, framework: str) -> str:
    """Markdown as ``framework``'s readers see it: its fw-blocks unwrapped, the others removed.
    Other fences are copied as they are (an fw-block shown as an example stays an example)."""
    lines = text.split("\n")
    out: list[str] = []
    for item in scan(lines):
        if isinstance(item, int):
            out.append(lines[item])
            continue
        names = fw_block_names(item.info)
        end = len(lines) if item.end is None else item.end
        if names is None:
            out.extend(lines[item.start:end + 1])
        elif framework in names:
            out.extend(resolve_fw_blocks("\n".join(lines[item.start + 1:end]), framework).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")
