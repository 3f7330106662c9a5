"""Shared helpers for the engine tests. The fixture book lives in fixtures/book (two real
framework kernels: d2l-pytorch and d2l-jax)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tabbook.config import BookConfig, load_config
from tabbook.layout import Layout

REPO = Path(__file__).resolve().parents[2]
FIXTURE_BOOK = Path(__file__).parent / "fixtures" / "book"

FRONT = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {name: python3, display_name: Python 3, language: python}
tabbook:
  frameworks: [pytorch, jax]
---
"""


def make_config(root, **kw) -> BookConfig:
    # the engine knows no framework: the tests' book names its kernels, labels and extras
    d = {"frameworks": {"pytorch": {"label": "PyTorch", "kernel": "d2l-pytorch", "extra": "torch"},
                        "jax": {"label": "JAX", "kernel": "d2l-jax", "extra": "jax"}},
         "notebooks": {"install": 'pip install "d2l_support[{extra}] @ git+{repo_url}@{ref}"'}}
    d.update(kw)
    return BookConfig.from_dict(d, root, repository={"url": "https://github.com/o/r", "branch": "dev"})


def layout(root: Path) -> Layout:
    """The build folder's paths of the book at ``root``."""
    return Layout.of(load_config(root))


def write_page(root: Path, rel: str, body: str, front: str = FRONT) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(front + body, encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    """1-based line of the first line of ``path`` that equals ``text``."""
    return path.read_text(encoding="utf-8").split("\n").index(text) + 1


def copy_book(dst: Path, with_build: bool = False) -> Path:
    ignore = None if with_build else shutil.ignore_patterns("_build")
    shutil.copytree(FIXTURE_BOOK, dst, ignore=ignore)
    return dst


def run_tabbook(root: Path, *args, timeout: int = 300, env=None) -> subprocess.CompletedProcess:
    env = dict(os.environ if env is None else env, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "tabbook", "--root", str(root), *args], cwd=root,
                          env=env, capture_output=True, text=True, timeout=timeout)
