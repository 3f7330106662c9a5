"""The Makefile rebuilds an environment when the content of its requirement file (or of
pyproject.toml) changes, never for a newer file date. Each test runs the real Makefile on a
throwaway VENV of one fake framework environment, "toy", whose `python` is a shell script that
answers the Makefile's and the picker's questions and records every `pip` call: nothing is
installed."""
import os
import subprocess
import time
from pathlib import Path

import pytest

from cicdlib import REPO

VERSION = "3.11.7"


def _fake_python(path: Path, site: Path, pip_log: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    site.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n"
                    'case "$*" in\n'
                    f'  *"-m pip"*) echo "$*" >> "{pip_log}"; exit 0;;\n'
                    '  *"-m ipykernel"*) exit 0;;\n'
                    f'  *sysconfig*) echo "{site}"; exit 0;;\n'
                    '  *"import venv"*) exit 0;;\n'
                    f'  *python_version*) echo {VERSION}; exit 0;;\n'
                    "esac\n"
                    f"echo cpython {VERSION}\n")
    path.chmod(0o755)


class Toy:
    def __init__(self, root: Path):
        self.venvs, self.req = root / "venvs", root / "req"
        self.req.mkdir()
        self.requirements = self.req / "toy.txt"
        self.requirements.write_text("# python: >=3.8\nsomething==1.0\n")
        self.pip_log = root / "pip.log"
        _fake_python(self.venvs / "toy" / "bin" / "python", root / "site", self.pip_log)
        self.stamp = self.venvs / "toy" / ".stamp"
        self.digest = self.venvs / "toy" / ".requirements.sha256"
        self.kernels = root / "kernels"

    def make(self, *args) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MAKE", "MFLAGS", "PYTHON_")) and k not in ("PYTHON", "VENV", "FRAMEWORKS")}
        return subprocess.run(["make", "--no-print-directory", f"VENV={self.venvs}", f"KERNELS={self.kernels}",
                               f"REQ_DIR={self.req}", "FRAMEWORKS=toy", *args, str(self.stamp)],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=120)

    def pip_calls(self) -> int:
        return len(self.pip_log.read_text().splitlines()) if self.pip_log.exists() else 0


@pytest.fixture
def toy(tmp_path) -> Toy:
    toy = Toy(tmp_path)
    r = toy.make()
    assert r.returncode == 0, r.stdout + r.stderr
    assert toy.stamp.read_text().strip() == VERSION
    assert toy.pip_calls() == 2  # its requirements, then the repository (editable)
    return toy


def _future(*paths: Path) -> None:
    later = time.time() + 3600
    for p in paths:
        os.utime(p, (later, later))


def test_newer_file_dates_rebuild_nothing(toy):
    pyproject = REPO / "pyproject.toml"
    saved = pyproject.stat()
    try:  # as in a fresh clone beside existing environments: every file newer than the stamp
        _future(toy.requirements, pyproject)
        assert toy.make("-q").returncode == 0
        r = toy.make("-n")
        assert r.returncode == 0 and "pip install" not in r.stdout, r.stdout
        assert toy.make().returncode == 0 and toy.pip_calls() == 2
    finally:
        os.utime(pyproject, ns=(saved.st_atime_ns, saved.st_mtime_ns))


def test_a_content_change_rebuilds(toy):
    toy.requirements.write_text(toy.requirements.read_text() + "another==2.0\n")
    assert toy.make("-q").returncode == 1
    assert "pip install" in toy.make("-n").stdout
    r = toy.make()
    assert r.returncode == 0, r.stdout + r.stderr
    assert toy.pip_calls() == 4
    assert toy.make("-q").returncode == 0
    # the same content again (an edit undone) is a change of the recorded content too
    toy.requirements.write_text(toy.requirements.read_text().replace("another==2.0\n", ""))
    assert toy.make("-q").returncode == 1


def test_an_environment_from_before_the_digests_is_adopted_only_if_its_stamp_is_newer(toy):
    toy.digest.unlink()  # made by the Makefile that compared dates
    assert toy.make("-q").returncode == 0 and toy.digest.is_file()
    toy.digest.unlink()
    _future(toy.requirements)  # an older stamp: the date rule said rebuild, so does this one
    assert toy.make("-q").returncode == 1
