"""Fixtures of the CI/CD tests. Run with the book environment:
`.venv/book/bin/python -m pytest tests/cicd`."""
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cicdlib import REPO, BinderEnvs, clean_env, notebooks_branch_tree


@pytest.fixture(scope="session")
def binder_envs(tmp_path_factory) -> BinderEnvs:
    """Run `binder/postBuild` as repo2docker does on the branch Binder builds (a tree laid out as
    book.yml's `notebooks` job lays out that branch, with HOME and NB_PYTHON_PREFIX set) into a
    temporary home and server prefix. Takes minutes."""
    root = tmp_path_factory.mktemp("binder")
    branch = notebooks_branch_tree(root / "branch")
    envs = BinderEnvs(root / "home", root / "server", branch)
    envs.home.mkdir()
    start = time.monotonic()
    proc = subprocess.run([str(branch / "binder" / "postBuild")], cwd=branch,
                          env=clean_env(HOME=str(envs.home), NB_PYTHON_PREFIX=str(envs.server),
                                        PYTHON=sys.executable),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(f"\nbinder/postBuild took {time.monotonic() - start:.0f} s")
    assert proc.returncode == 0, f"binder/postBuild failed (exit {proc.returncode}):\n{proc.stdout[-6000:]}"
    return envs


# A one-page book in four frameworks whose exported notebooks the tests run as readers would.
FIXTURE = Path(__file__).parent / "fixtures" / "reader-book"


@pytest.fixture(scope="session")
def exported(binder_envs, tmp_path_factory) -> Path:
    """Execute the fixture book with the engine, in the Binder kernels; return its notebooks dir."""
    book = tmp_path_factory.mktemp("reader") / "book"
    shutil.copytree(FIXTURE, book)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "tabbook", "--root", str(book), "execute"], cwd=REPO,
        env=clean_env(JUPYTER_PATH=str(binder_envs.server / "share" / "jupyter")),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(f"\ntabbook execute (fixture book, 4 kernels): {time.monotonic() - start:.0f} s")
    assert proc.returncode == 0, f"tabbook execute failed:\n{proc.stdout[-6000:]}"
    return book / "_build" / "tabbook" / "notebooks"
