"""Fixture books built once per test session (strict Sphinx build, hand-made merged notebooks)."""
from __future__ import annotations

import pytest
from renderlib import PAGES, copy_book, make_merged, sphinx_build


def build_fixture(tmp_path_factory, tabs: str | None = None):
    root = copy_book("book", tmp_path_factory.mktemp(tabs or "design") / "book", tabs=tabs)
    for page in PAGES:
        make_merged(root, page)
    result = sphinx_build(root)
    if result.returncode != 0:
        pytest.fail(f"strict build of {root} failed:\n{result.stdout[-3000:]}\n{result.stderr}")
    return root, result


@pytest.fixture(scope="session")
def design_book(tmp_path_factory):
    return build_fixture(tmp_path_factory)


@pytest.fixture(scope="session")
def tabs_book(tmp_path_factory):
    return build_fixture(tmp_path_factory, tabs="sphinx-tabs")

