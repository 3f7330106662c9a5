"""Fixtures of the CI/CD tests. Run with the book environment:
`.venv/book/bin/python -m pytest tests/cicd`."""
import subprocess
import sys
import time

import pytest

from cicdlib import REPO, BinderEnvs, clean_env


@pytest.fixture(scope="session")
def binder_envs(tmp_path_factory) -> BinderEnvs:
    """Run `binder/postBuild` as repo2docker does (from the repository root, with HOME and
    NB_PYTHON_PREFIX set) into a temporary home and server prefix. Takes minutes."""
    root = tmp_path_factory.mktemp("binder")
    envs = BinderEnvs(root / "home", root / "server")
    envs.home.mkdir()
    start = time.monotonic()
    proc = subprocess.run([str(REPO / "binder" / "postBuild")], cwd=REPO,
                          env=clean_env(HOME=str(envs.home), NB_PYTHON_PREFIX=str(envs.server),
                                        PYTHON=sys.executable),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(f"\nbinder/postBuild took {time.monotonic() - start:.0f} s")
    assert proc.returncode == 0, f"binder/postBuild failed (exit {proc.returncode}):\n{proc.stdout[-6000:]}"
    return envs
