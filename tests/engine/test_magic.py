import pytest
from IPython.core.interactiveshell import InteractiveShell

from tabbook.magic import Tab


@pytest.fixture
def ip(monkeypatch):
    monkeypatch.setenv("TABBOOK_FRAMEWORK", "mxnet")
    monkeypatch.delenv("TABBOOK_BUILD_PID", raising=False)
    shell = InteractiveShell.instance()
    shell.user_ns.pop("tab", None)
    shell.run_line_magic("load_ext", "tabbook.magic")
    shell.run_line_magic("reload_ext", "tabbook.magic")
    return shell


def test_tab_magic_runs_only_selected(ip):
    ip.run_cell("%%tab pytorch, mxnet\nran_a = 1")
    ip.run_cell("%%tab jax\nran_b = 1")
    ip.run_cell("%%tab all\nran_c = 1")
    assert ip.user_ns.get("ran_a") == 1 and "ran_b" not in ip.user_ns and ip.user_ns.get("ran_c") == 1


def test_tab_object_and_select(ip):
    ip.run_cell("r1 = tab.selected('mxnet', 'jax')\ntab.select('jax')\nr2 = tab.selected('mxnet')")
    assert ip.user_ns["r1"] is True and ip.user_ns["r2"] is False
    ip.run_cell("%%tab jax\nran_d = 1")
    assert ip.user_ns.get("ran_d") == 1


def test_detect_reads_the_kernel_environment_not_the_venv_name(monkeypatch):
    monkeypatch.setenv("TABBOOK_FRAMEWORK", "jax")
    assert Tab.detect() == "jax"
    monkeypatch.delenv("TABBOOK_FRAMEWORK")
    monkeypatch.setattr("sys.prefix", "/work/main/.venv/jax")  # no guess from a book's venv layout
    assert Tab.detect() is None
    with pytest.raises(RuntimeError, match="tab.select"):
        Tab(Tab.detect()).selected("jax")
