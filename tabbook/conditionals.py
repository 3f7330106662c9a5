"""Resolve ``if tab.selected(...)`` / ``elif tab.selected(...)`` / ``else`` chains per framework.

A chain is resolved only when every test in it is a pure ``tab.selected('a', 'b', ...)`` call
with string arguments; other chains are left alone (the kernel's ``tab`` object handles them).
The kept branch is dedented to the chain's indentation; its comments are kept. The header of a
test must end (with its colon) on the line where the test ends.
"""
from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

_MAGIC_LINE = re.compile(r"^(\s*)[%!]")


class ConditionalError(ValueError):
    """A ``tab.selected(...)`` call names an unknown framework, or is left where it cannot be
    resolved (``line`` is 1-based in the cell)."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


@dataclass
class _Chain:
    node: ast.If
    branches: list  # (frameworks or None for else, header_line, header_end, body) ; 1-based lines
    alone: bool  # the only statement of an enclosing block


def _is_selected_call(node: ast.AST) -> bool:
    """Whether ``node`` is a call of ``tab.selected``, whatever its arguments."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "selected"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "tab"
    )


def _selected_names(test: ast.expr) -> tuple[str, ...] | None:
    """The names of a pure ``tab.selected('a', ...)`` test, else None."""
    if not (
        _is_selected_call(test)
        and test.args
        and not test.keywords
        and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in test.args)
    ):
        return None
    return tuple(a.value for a in test.args)


def _parse(code: str) -> ast.Module | None:
    """Parse a cell, with IPython magic / shell lines masked as ``pass`` (line numbers kept)."""
    masked = "\n".join(
        (m.group(1) + "pass") if (m := _MAGIC_LINE.match(line)) else line for line in code.split("\n")
    )
    try:
        return ast.parse(masked)
    except SyntaxError:
        return None


def _find_chain(tree: ast.Module, lines: list[str]) -> _Chain | None:
    """The first (outermost, topmost) pure chain in the cell."""
    for parent in ast.walk(tree):
        for attr in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(parent, attr, None)
            if not isinstance(block, list):
                continue
            for stmt in block:
                if isinstance(stmt, ast.If) and (chain := _chain(stmt, lines)):
                    chain.alone = len(block) == 1 and not isinstance(parent, ast.Module)
                    return chain
    return None


def _chain(node: ast.If, lines: list[str]) -> _Chain | None:
    branches = []
    cur: ast.If = node
    while True:
        names = _selected_names(cur.test)
        if names is None:
            return None
        branches.append((names, cur.lineno, cur.test.end_lineno, cur.body))
        orelse = cur.orelse
        if len(orelse) == 1 and isinstance(orelse[0], ast.If) and _is_elif(orelse[0], lines, node):
            cur = orelse[0]
            continue
        if orelse:
            start = cur.body[-1].end_lineno + 1
            else_line = next(
                n for n in range(start, orelse[0].lineno + 1)
                if re.match(r"\s*else\s*:", lines[n - 1]) and _indent(lines[n - 1]) == node.col_offset
            )
            branches.append((None, else_line, else_line, orelse))
        return _Chain(node, branches, False)


def _is_elif(node: ast.If, lines: list[str], top: ast.If) -> bool:
    return lines[node.lineno - 1][top.col_offset:].startswith("elif")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _chain_end(chain: _Chain, lines: list[str]) -> int:
    """Last line of the chain, including trailing comment lines indented inside it."""
    end = chain.node.end_lineno
    while end < len(lines):
        nxt = lines[end]
        if nxt.strip().startswith("#") and _indent(nxt) > chain.node.col_offset:
            end += 1
        else:
            break
    return end


def _branch_lines(chain: _Chain, i: int, lines: list[str], end: int) -> tuple[list[str], list[int]]:
    """The kept branch's body, re-indented to the chain's level, and the (1-based) line of
    ``lines`` each of its lines comes from."""
    _, header, header_end, body = chain.branches[i]
    stop = chain.branches[i + 1][1] - 1 if i + 1 < len(chain.branches) else end
    region = lines[header_end:stop]  # lines header_end+1 .. stop (1-based)
    sources = list(range(header_end + 1, stop + 1))
    if body[0].lineno == header_end:  # body on the header line: `if tab.selected('a'): x = 1`
        head = lines[header_end - 1]
        inline = " " * (chain.node.col_offset + 4) + head[body[0].col_offset:]
        region, sources = [inline] + region, [header_end] + sources
    indent = " " * chain.node.col_offset
    block = textwrap.dedent("\n".join(region)).split("\n")
    while block and not block[-1].strip():
        block.pop()
    return [indent + line if line.strip() else "" for line in block], sources[:len(block)]


def _no_selected_left(tree: ast.Module, origin: list[int]) -> None:
    """Every ``tab.selected(...)`` must have been resolved: one left (an expression such as
    ``x if tab.selected('a') else y``, or a test that mixes it with other conditions) would
    reach the framework's exported notebook, where no ``tab`` exists."""
    for node in ast.walk(tree):
        if _is_selected_call(node):
            raise ConditionalError(
                "tab.selected() is resolved per framework only as the whole test of an `if` or "
                "`elif` statement; here it would be left in the exported notebook, where `tab` "
                "is not defined. Write it as a statement: `if tab.selected(...):` with each "
                "branch on its own lines (e.g. instead of `x = a if tab.selected('jax') else b`, "
                "`if tab.selected('jax'):` / `x = a` / `else:` / `x = b`)",
                origin[node.lineno - 1])


def resolve(code: str, framework: str, known=None) -> str:
    """Return ``code`` as ``framework`` runs it: pure ``tab.selected`` chains resolved.

    ``known``: the framework names allowed in ``tab.selected(...)``; others raise
    :class:`ConditionalError` with the (1-based) line in the cell.
    """
    return resolve_lines(code, framework, known)[0]


def resolve_lines(code: str, framework: str, known=None) -> tuple[str, list[int]]:
    """:func:`resolve`, and for each line of the result the (1-based) line of ``code`` it comes
    from, so that an error in the resolved code can be located in the page."""
    origin = list(range(1, code.count("\n") + 2))
    while True:
        lines = code.split("\n")
        tree = _parse(code)
        chain = tree and _find_chain(tree, lines)
        if not chain:
            if tree:
                _no_selected_left(tree, origin)
            return code, origin
        if known is not None:
            for names, header, _, _ in chain.branches:
                bad = [n for n in names or () if n not in known]
                if bad:
                    raise ConditionalError(
                        f"tab.selected() names unknown framework(s) {', '.join(bad)} "
                        f"(known: {', '.join(known)})", header)
        end = _chain_end(chain, lines)
        kept: list[str] = []
        sources: list[int] = []
        for i, (names, *_rest) in enumerate(chain.branches):
            if names is None or framework in names:
                kept, sources = _branch_lines(chain, i, lines, end)
                break
        if not kept and chain.alone:
            kept, sources = [" " * chain.node.col_offset + "pass"], [chain.node.lineno]
        start = chain.node.lineno - 1
        code = "\n".join(lines[:start] + kept + lines[end:])
        origin = origin[:start] + [origin[n - 1] for n in sources] + origin[end:]
