"""The engine serves a book that is not this one: tests/example_book, whose two "frameworks" are
two Python environments with different NumPy majors (its requirements/np1.txt and np2.txt), is
built by `python -m tabbook html` run in its own folder, and its tabs and outputs are checked in
the HTML.

The environments are made once from PyPI into ~/.cache/tabbook-example-book/ (keyed by the
content of their requirement file; a minute or two the first time) and their kernels registered
into a temporary Jupyter path, so nothing of this book's environments or kernels is used."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from enginelib import REPO

EXAMPLE = REPO / "tests" / "example_book"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tabbook-example-book"
KERNEL_PREFIX = "twonumpys-"


def _environment(name: str) -> Path:
    """The virtualenv of framework ``name``, made from its requirement file if not cached."""
    req = EXAMPLE / "requirements" / f"{name}.txt"
    env = CACHE / f"{name}-{hashlib.sha256(req.read_bytes()).hexdigest()[:16]}"
    if (env / ".done").is_file():
        return env
    shutil.rmtree(env, ignore_errors=True)
    env.parent.mkdir(parents=True, exist_ok=True)
    for cmd in ([sys.executable, "-m", "venv", str(env)],
                [str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                 "-r", str(req)]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"making the {name} environment failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}"
    (env / ".done").write_text(req.read_text())
    return env


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> Path:
    """A Jupyter data dir holding the example book's two kernels (and nothing else)."""
    prefix = tmp_path_factory.mktemp("example-kernels")
    for name in ("np1", "np2"):
        env = _environment(name)
        proc = subprocess.run([str(env / "bin" / "python"), "-m", "ipykernel", "install", "--prefix", str(prefix),
                               "--name", KERNEL_PREFIX + name, "--display-name", name],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    return prefix / "share" / "jupyter"


def _env(kernels: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "D2L_", "TABBOOK_"))}
    return dict(env, JUPYTER_PATH=str(kernels), PYTHONPATH=str(REPO))


@pytest.fixture(scope="module")
def built(kernels, tmp_path_factory) -> Path:
    book = Path(shutil.copytree(EXAMPLE, tmp_path_factory.mktemp("example") / "book",
                                ignore=shutil.ignore_patterns("_build")))
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "tabbook", "html", "--jobs", "2"], cwd=book, env=_env(kernels),
                          capture_output=True, text=True, timeout=600)
    print(f"\nexample book: cold `python -m tabbook html` {time.monotonic() - start:.1f} s")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    (book / "build.log").write_text(proc.stdout + proc.stderr)
    return book


def _tab_sets(html: Path) -> list[dict[str, str]]:
    """Each sphinx-design tab set of a page as {label: text of its panel}."""
    from bs4 import BeautifulSoup
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
    sets = []
    for ts in soup.select("div.sd-tab-set"):
        labels = [lab.get_text(" ", strip=True) for lab in ts.find_all("label", class_="sd-tab-label", recursive=False)]
        panels = [p.get_text(" ", strip=True) for p in ts.find_all("div", class_="sd-tab-content", recursive=False)]
        assert len(labels) == len(panels), html
        sets.append(dict(zip(labels, panels)))
    return sets


def test_tabs_and_outputs_of_both_numpys(built):
    intro = _tab_sets(built / "_build/html/intro.html")
    assert intro and all(list(ts) == ["NumPy 1", "NumPy 2"] for ts in intro)
    assert [ts["NumPy 1"].split()[-2:] for ts in intro] == [["numpy", "1"]]
    assert [ts["NumPy 2"].split()[-2:] for ts in intro] == [["numpy", "2"]]
    # the same output from both kernels: shown once, outside the tabs; the configured count
    # reached each kernel in the book's own variable
    page = (built / "_build/html/intro.html").read_text(encoding="utf-8")
    assert page.count("threads 1") == 1 and "TWONUMPYS_THREADS" in page

    arrays = _tab_sets(built / "_build/html/pages/arrays.html")
    np1 = " | ".join(ts.get("NumPy 1", "") for ts in arrays)
    np2 = " | ".join(ts.get("NumPy 2", "") for ts in arrays)
    assert all(list(ts) == ["NumPy 1", "NumPy 2"] for ts in arrays), arrays
    assert "print ( repr ( x )) 4.0" in np1 and "np.float64(4.0)" not in np1, np1
    assert "np.float64(4.0)" in np2, np2
    assert "np1 only: True" in np1 and "np2 only" not in np1
    assert "np2 only: False" in np2 and "np1 only" not in np2
    assert "was removed in NumPy 2" in np2 and "was removed" not in np1  # the fw-block
    assert "the old alias" in np1 and "gone" in np2 and "gone" not in np1  # the tab.selected chain


def test_built_from_its_own_config_only(built):
    log = (built / "build.log").read_text()
    assert "4 run, 0 cached, 0 failed" in log, log[-3000:]
    for fw in ("np1", "np2"):  # each kernel's own output went to its log, not the console
        assert (built / "_build/tabbook/logs" / fw / "intro.log").is_file()
    nb = (built / "_build/tabbook/notebooks/np2/pages/arrays.ipynb").read_text()
    assert f'"name": "{KERNEL_PREFIX}np2"' in nb
    site = " ".join(p.read_text(encoding="utf-8") for p in (built / "_build/html").rglob("*.html"))
    assert "d2l" not in site.lower()


def test_a_missing_kernel_names_the_books_own_hint(kernels, tmp_path):
    book = Path(shutil.copytree(EXAMPLE, tmp_path / "book", ignore=shutil.ignore_patterns("_build")))
    cfg = book / "_config.yml"
    cfg.write_text(cfg.read_text().replace("kernel: twonumpys-{framework}", "kernel: nobook-{framework}"))
    proc = subprocess.run([sys.executable, "-m", "tabbook", "execute"], cwd=book, env=_env(kernels),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "Jupyter kernel 'nobook-np1' is not installed: the test makes the kernels" in proc.stderr, \
        proc.stderr[-3000:]


def _html(book: Path, kernels: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tabbook", "html", *args], cwd=book, env=_env(kernels),
                          capture_output=True, text=True, timeout=600)


def test_warnings_are_listed_and_repeated_until_fixed(built, kernels, tmp_path):
    book = Path(shutil.copytree(built, tmp_path / "book"))
    page = book / "pages/arrays.md"
    good = page.read_text()
    page.write_text(good.replace("{ref}`the start <arrays>`", "{ref}`the start <arays>`"))
    line = page.read_text().split("\n").index("Back to {ref}`the start <arays>`.") + 1

    strict = _html(book, kernels, "--strict")
    assert strict.returncode != 0
    tail = strict.stderr[strict.stderr.rindex("strict build failed"):]
    assert tail.splitlines()[0].startswith("strict build failed: 1 warning (kept in ")
    assert tail.splitlines()[1] == (f"  pages/arrays.md:{line}: undefined label: 'arays' (ref); "
                                    "did you mean 'arrays'?"), tail

    plain = _html(book, kernels)  # the page is not re-read: its warning is repeated all the same
    assert "pages/arrays.md" in plain.stderr and "did you mean 'arrays'?" in plain.stderr, plain.stderr[-3000:]
    assert "repeated on every build until fixed" in plain.stderr
    again = _html(book, kernels)
    assert "did you mean 'arrays'?" in again.stderr

    page.write_text(good)
    fixed = _html(book, kernels)
    assert fixed.returncode == 0 and "did you mean" not in fixed.stderr, fixed.stderr[-3000:]
    assert "repeated on every build" not in fixed.stderr and "build succeeded." in fixed.stdout + fixed.stderr
