import pytest

from tabbook.conditionals import ConditionalError, resolve, resolve_lines

KNOWN = ["pytorch", "tensorflow", "mxnet", "jax"]

CHAIN = """x = 1
if tab.selected('pytorch'):
    y = 'torch'  # keep me
    # a comment line
elif tab.selected('mxnet',
                  'tensorflow'):
    y = 'mx or tf'
else:
    y = 'jax'
print(y)"""


@pytest.mark.parametrize("fw, body", [
    ("pytorch", "y = 'torch'  # keep me\n# a comment line"),
    ("mxnet", "y = 'mx or tf'"),
    ("tensorflow", "y = 'mx or tf'"),
    ("jax", "y = 'jax'"),
])
def test_chain_keeps_one_branch_dedented(fw, body):
    assert resolve(CHAIN, fw, KNOWN) == f"x = 1\n{body}\nprint(y)"


def test_nested_and_indented_chains():
    code = ("def f(a):\n"
            "    if tab.selected('jax'):\n"
            "        if tab.selected('pytorch'):\n"
            "            return 0\n"
            "        return a + 1\n"
            "    else:\n"
            "        return a\n")
    assert resolve(code, "jax", KNOWN) == "def f(a):\n    return a + 1\n"
    assert resolve(code, "pytorch", KNOWN) == "def f(a):\n    return a\n"


def test_no_branch_leaves_pass_in_a_block_and_nothing_at_top():
    code = "for i in range(2):\n    if tab.selected('jax'):\n        print(i)\n"
    assert resolve(code, "mxnet", KNOWN) == "for i in range(2):\n    pass\n"
    assert resolve("if tab.selected('jax'):\n    z = 1\nw = 2", "mxnet", KNOWN) == "w = 2"


def test_inline_body():
    assert resolve("if tab.selected('jax'): z = 1\nelse: z = 2", "jax", KNOWN) == "z = 1"


@pytest.mark.parametrize("code, line", [
    ("x = 1\nif tab.selected('jax') and big:\n    a = 1", 2),
    ("if tab.selected('jax'):\n    b = 1\nelif big:\n    b = 2\nz = 1 if tab.selected('mxnet') else 2", 1),
    ("if tab.selected(name):\n    c = 1", 1),
    ("y = (0 if tab.selected('pytorch', 'jax')\n     else 1)", 1),
])
def test_a_selected_call_that_cannot_be_resolved_is_an_error_at_its_line(code, line):
    """Left in the code, it would reach the exported notebook, where `tab` does not exist."""
    for fw in KNOWN:
        with pytest.raises(ConditionalError, match=r"if tab\.selected\(\.\.\.\):") as e:
            resolve(code, fw, KNOWN)
        assert e.value.line == line, (fw, code)


def test_magics_are_kept():
    code = "%matplotlib inline\nif tab.selected('jax'):\n    !echo hi\n    x = 1"
    assert resolve(code, "jax", KNOWN) == "%matplotlib inline\n!echo hi\nx = 1"


def test_unknown_name_reports_the_line():
    with pytest.raises(ConditionalError) as e:
        resolve("x = 1\n\nif tab.selected('pytroch'):\n    pass", "jax", KNOWN)
    assert e.value.line == 3 and "pytroch" in str(e.value)


@pytest.mark.parametrize("fw", KNOWN)
def test_each_resolved_line_knows_its_source_line(fw):
    code, origin = resolve_lines(CHAIN, fw, KNOWN)
    source = CHAIN.split("\n")
    assert len(origin) == len(code.split("\n"))
    for line, n in zip(code.split("\n"), origin):
        assert line.strip() == source[n - 1].strip()


def test_source_lines_through_nested_inline_and_dropped_chains():
    code = ("def f(a):\n"
            "    if tab.selected('jax'):\n"
            "        if tab.selected('pytorch'):\n"
            "            return 0\n"
            "        return a + 1\n"
            "    else:\n"
            "        return a\n"
            "if tab.selected('mxnet'): z = 1\n"
            "w = 2")
    assert resolve_lines(code, "jax", KNOWN) == ("def f(a):\n    return a + 1\nw = 2", [1, 5, 9])
    assert resolve_lines(code, "mxnet", KNOWN) == ("def f(a):\n    return a\nz = 1\nw = 2",
                                                   [1, 7, 8, 9])
    loop = "for i in range(2):\n    if tab.selected('jax'):\n        print(i)\nprint('end')"
    assert resolve_lines(loop, "mxnet", KNOWN) == ("for i in range(2):\n    pass\nprint('end')",
                                                   [1, 2, 4])
