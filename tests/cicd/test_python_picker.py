"""tools/pick_python.py, which picks the interpreter of each environment, with fake interpreters
(shell scripts that answer the picker's probes) on a temporary PATH and in a fake pyenv; and the
Makefile's use of it (make -q / make with a temporary VENV, nothing installed)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cicdlib import REPO

PICKER = REPO / "tools" / "pick_python.py"
sys.path.insert(0, str(PICKER.parent))
import pick_python  # noqa: E402


def fake_python(path: Path, version: str, venv: bool = True, impl: str = "cpython") -> Path:
    """An executable that answers the picker's probes as Python `version` would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n"
                    f'case "$*" in *"import venv"*) exit {0 if venv else 1};;\n'
                    f'  *python_version*) echo {version}; exit 0;; esac\n'  # the Makefile's question
                    f"echo {impl} {version}\n")
    path.chmod(0o755)
    return path


class Machine:
    """A temporary PATH, home and pyenv root, and requirement files, for one test."""

    def __init__(self, root: Path):
        self.root, self.bin, self.home = root, root / "bin", root / "home"
        self.pyenv, self.venvs = root / "pyenv", root / "venvs"
        for d in (self.bin, self.home):
            d.mkdir()
        self.extra_env = {}

    def python(self, name: str, version: str, **kw) -> Path:
        return fake_python(self.bin / name, version, **kw)

    def pyenv_version(self, version: str, **kw) -> Path:
        return fake_python(self.pyenv / "versions" / version / "bin" / "python", version, **kw)

    def requirements(self, name: str, header: str) -> str:
        path = self.root / f"{name}.txt"
        path.write_text(header + "\nsomething==1.0\n")
        return f"{name}={path}"

    def venv(self, env: str, version: str) -> Path:
        return fake_python(self.venvs / env / "bin" / "python", version)

    def pick(self, *args, **env):
        full = {"PATH": str(self.bin), "HOME": str(self.home), **self.extra_env, **env}
        if self.pyenv.is_dir():
            full.setdefault("PYENV_ROOT", str(self.pyenv))
        return subprocess.run([sys.executable, str(PICKER), "--venvs", str(self.venvs), *args],
                              env=full, capture_output=True, text=True, timeout=60)


@pytest.fixture
def machine(tmp_path) -> Machine:
    return Machine(tmp_path)


def chosen(proc) -> str:
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


# --------------------------------------------------------------------------------------------
# Versions and headers
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version, spec, ok", [
    ("3.12.1", ">=3.10,<3.13", True), ("3.13.0", ">=3.10,<3.13", False),
    ("3.9.18", ">=3.10,<3.13", False), ("3.11.7", "==3.11.*", True), ("3.12.0", "==3.11.*", False),
    ("3.11.7", "!=3.12.*", True), ("3.12.0", "~=3.11", True), ("3.11.0", "", True),
    ("3.12.0", "<=3.12", True), ("3.12.1", "<=3.12", False),  # PEP 440: 3.12.1 > 3.12
])
def test_fits_follows_pep_440(version, spec, ok):
    assert pick_python.fits(version, spec) is ok


def test_malformed_specifier_is_refused(machine):
    proc = machine.pick(machine.requirements("mxnet", "# python: 3.12 or so"))
    assert proc.returncode == 1 and "unsupported Python specifier" in proc.stderr


def test_header_is_inherited_through_r_includes(tmp_path):
    (tmp_path / "gpu").mkdir()
    (tmp_path / "mxnet.txt").write_text("# python: >=3.10,<3.13\n# python-prefer: 3.12\nmxnet==1.9.1\n")
    (tmp_path / "gpu" / "mxnet.txt").write_text("# the CPU build\n-r ../mxnet.txt\n")
    header = pick_python.read_header(tmp_path / "gpu" / "mxnet.txt")
    assert (header.spec, header.prefer) == (">=3.10,<3.13", ("3.12",))


def test_every_requirement_file_declares_a_range_that_holds_python_311():
    """3.11 is the version every pin has a wheel for (torch's local CPU wheel is cp311)."""
    files = sorted((REPO / "requirements").glob("*.txt")) + sorted((REPO / "requirements" / "gpu").glob("*.txt"))
    for path in files:
        header = pick_python.read_header(path)
        assert header.spec, f"{path} declares no `# python:` range"
        assert pick_python.fits("3.11.7", header.spec), (path, header.spec)
    mxnet = pick_python.read_header(REPO / "requirements" / "mxnet.txt").spec
    assert pick_python.fits("3.12.1", mxnet) and not pick_python.fits("3.13.0", mxnet)
    for fw in ("pytorch", "tensorflow", "mxnet", "jax"):  # the GPU file declares the CPU file's range
        assert (pick_python.read_header(REPO / "requirements" / "gpu" / f"{fw}.txt").spec
                == pick_python.read_header(REPO / "requirements" / f"{fw}.txt").spec), fw


# --------------------------------------------------------------------------------------------
# Picking
# --------------------------------------------------------------------------------------------
def test_picks_311_first_then_the_newest(machine):
    machine.python("python3.10", "3.10.13")
    py311 = machine.python("python3.11", "3.11.4")
    py312 = machine.python("python3.12", "3.12.1")
    machine.python("python3.13", "3.13.0")
    mxnet = machine.requirements("mxnet", "# python: >=3.10,<3.13")
    proc = machine.pick("--print", "mxnet", mxnet)
    assert chosen(proc) == str(py311)
    assert f"mxnet: Python 3.11.4: {py311}" in proc.stderr  # make shows which interpreter
    py311.unlink()
    assert chosen(machine.pick("--print", "mxnet", mxnet)) == str(py312)


def test_the_file_can_declare_its_preference(machine):
    machine.python("python3.11", "3.11.4")
    py312 = machine.python("python3.12", "3.12.1")
    req = machine.requirements("mxnet", "# python: >=3.10,<3.13\n# python-prefer: 3.12, 3.11")
    assert chosen(machine.pick("--print", "mxnet", req)) == str(py312)


def test_newest_patch_release_of_a_version_wins(machine):
    machine.python("python3", "3.11.2")
    newer = machine.pyenv_version("3.11.7")
    req = machine.requirements("book", "# python: >=3.11,<3.14")
    assert chosen(machine.pick("--print", "book", req)) == str(newer)


def test_pyenv_versions_are_found_and_its_shims_skipped(machine):
    fake_python(machine.pyenv / "shims" / "python3.12", "3.12.9")  # a shim must not be run
    py312 = machine.pyenv_version("3.12.1")
    machine.pyenv_version("3.13.0")
    req = machine.requirements("mxnet", "# python: >=3.10,<3.13")
    proc = machine.pick("--print", "mxnet", req, PATH=f"{machine.pyenv / 'shims'}:{machine.bin}")
    assert chosen(proc) == str(py312)


def test_pyenv_root_comes_from_pyenv_itself(machine):
    root = machine.root / "elsewhere"
    py312 = fake_python(root / "versions" / "3.12.1" / "bin" / "python", "3.12.1")
    (machine.bin / "pyenv").write_text(f"#!/bin/sh\necho {root}\n")
    (machine.bin / "pyenv").chmod(0o755)
    req = machine.requirements("mxnet", "# python: ==3.12.*")
    assert chosen(machine.pick("--print", "mxnet", req)) == str(py312)


def test_virtualenv_pythons_on_path_are_passed_over(machine):
    active = machine.root / "active-venv"
    fake_python(active / "bin" / "python3", "3.11.9")
    (active / "pyvenv.cfg").write_text("home = /somewhere\n")
    base = machine.python("python3.11", "3.11.4")
    req = machine.requirements("mxnet", "# python: >=3.10,<3.13")
    proc = machine.pick("--print", "mxnet", req, PATH=f"{active / 'bin'}:{machine.bin}")
    assert chosen(proc) == str(base)
    # named explicitly, a virtualenv's python is used
    assert chosen(machine.pick("--print", "mxnet", req, PYTHON=str(active / "bin" / "python3"))) == str(active / "bin" / "python3")


def test_interpreters_without_venv_are_passed_over(machine):
    machine.python("python3.11", "3.11.2", venv=False)  # Debian without python3.11-venv
    py312 = machine.python("python3.12", "3.12.1")
    req = machine.requirements("mxnet", "# python: >=3.10,<3.13")
    assert chosen(machine.pick("--print", "mxnet", req)) == str(py312)


def test_other_implementations_are_passed_over(machine):
    machine.python("python3.11", "3.11.2", impl="pypy")
    req = machine.requirements("mxnet", "# python: >=3.10,<3.13")
    assert machine.pick("--print", "mxnet", req).returncode == 1


# --------------------------------------------------------------------------------------------
# Overrides and existing environments
# --------------------------------------------------------------------------------------------
def test_override_per_environment_and_for_all(machine):
    machine.python("python3.11", "3.11.4")
    py312 = fake_python(machine.root / "opt" / "python3.12", "3.12.1")
    mxnet = machine.requirements("mxnet", "# python: >=3.10,<3.13")
    book = machine.requirements("book", "# python: >=3.11,<3.14")
    proc = machine.pick("--print", "mxnet", mxnet, book, PYTHON_MXNET=str(py312))
    assert chosen(proc) == str(py312) and "(PYTHON_MXNET)" in proc.stderr
    assert chosen(machine.pick("--print", "book", mxnet, book, PYTHON=str(py312))) == str(py312)
    # PYTHON_<ENV> wins over PYTHON; a name is looked up on PATH
    assert chosen(machine.pick("--print", "mxnet", mxnet, PYTHON="python3.11",
                               PYTHON_MXNET=str(py312))) == str(py312)
    assert chosen(machine.pick("--print", "mxnet", mxnet, PYTHON="python3.11")) == str(machine.bin / "python3.11")


def test_override_outside_the_range_is_refused_with_the_range(machine):
    py313 = machine.python("python3.13", "3.13.0")
    mxnet = machine.requirements("mxnet", "# python: >=3.10,<3.13")
    proc = machine.pick("--print", "mxnet", mxnet, PYTHON_MXNET=str(py313))
    assert proc.returncode == 1 and proc.stdout == ""
    assert f"PYTHON_MXNET={py313} is Python 3.13.0" in proc.stderr and ">=3.10,<3.13" in proc.stderr
    proc = machine.pick("--print", "mxnet", mxnet, PYTHON_MXNET="/nowhere/python3.12")
    assert proc.returncode == 1 and "PYTHON_MXNET=/nowhere/python3.12 is not a Python" in proc.stderr


def test_an_existing_environment_is_kept_unless_another_version_is_asked_for(machine):
    machine.python("python3.12", "3.12.1")
    machine.venv("mxnet", "3.11.7")
    mxnet = machine.requirements("mxnet", "# python: >=3.10,<3.13")
    proc = machine.pick("--print", "mxnet", mxnet)
    assert chosen(proc) == "" and "keeps" in proc.stderr and "3.11.7" in proc.stderr
    same = fake_python(machine.root / "other" / "python3.11", "3.11.7")
    assert chosen(machine.pick("--print", "mxnet", mxnet, PYTHON_MXNET=str(same))) == ""
    assert chosen(machine.pick("--print", "mxnet", mxnet, PYTHON_MXNET="python3.12")) == str(machine.bin / "python3.12")


def test_an_environment_is_never_made_from_another_environments_python(machine):
    py311 = machine.python("python3.11", "3.11.4")
    linked = machine.venvs / "book" / "bin" / "python"  # a venv's python links to its base's
    linked.parent.mkdir(parents=True)
    linked.symlink_to(py311)
    book = machine.requirements("book", "# python: >=3.11")
    mxnet = machine.requirements("mxnet", "# python: >=3.10,<3.13")
    assert chosen(machine.pick("--print", "mxnet", book, mxnet)) == str(py311)


def test_an_existing_environment_outside_the_range_is_made_again(machine):
    py312 = machine.python("python3.12", "3.12.1")
    machine.venv("mxnet", "3.13.0")
    proc = machine.pick("--print", "mxnet", machine.requirements("mxnet", "# python: >=3.10,<3.13"))
    assert chosen(proc) == str(py312) and "rebuilds" in proc.stderr


# --------------------------------------------------------------------------------------------
# Nothing fits
# --------------------------------------------------------------------------------------------
def test_none_fits_names_what_to_install_for_every_environment(machine):
    machine.python("python3", "3.13.0")
    machine.python("python3.9", "3.9.18")  # outside every range: not even run
    mxnet = machine.requirements("mxnet", "# python: >=3.10,<3.13")
    ref = machine.requirements("d2l-reference", "# python: >=3.10,<3.12")
    book = machine.requirements("book", "# python: >=3.11,<3.14")
    proc = machine.pick("--print", "book", book, mxnet, ref)
    assert proc.returncode == 1 and proc.stdout == ""
    err = proc.stderr
    assert "nothing was installed" in err and "book:" not in err
    assert "mxnet: no Python for" in err and ">=3.10,<3.13" in err and "found 3.13.0" in err
    assert "`pyenv install 3.11`" in err and "make PYTHON_MXNET=/path/to/python3.11" in err
    assert "make PYTHON_D2L_REFERENCE=" in err
    assert "3.9.18" not in err


def test_none_fits_suggests_a_version_in_range(machine):
    req = machine.requirements("new", "# python: >=3.12,<3.14")
    proc = machine.pick("--print", "new", req)
    assert proc.returncode == 1 and "`pyenv install 3.13`" in proc.stderr and "found none" in proc.stderr


def test_listing_without_print(machine):
    machine.python("python3.11", "3.11.4")
    machine.venv("book", "3.11.7")
    proc = machine.pick(machine.requirements("book", "# python: >=3.11"),
                        machine.requirements("mxnet", "# python: >=3.10,<3.13"))
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == [f"book: keeps {machine.venvs / 'book'} (Python 3.11.7)",
                                        f"mxnet: Python 3.11.4: {machine.bin / 'python3.11'}"]


# --------------------------------------------------------------------------------------------
# The Makefile's use of the picker (no environment is built)
# --------------------------------------------------------------------------------------------
def make(*args, **env):
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(("MAKE", "MFLAGS", "PYTHON_")) and k not in ("PYTHON", "VENV")}
    full.update(env)
    return subprocess.run(["make", "--no-print-directory", *args], cwd=REPO, env=full,
                          capture_output=True, text=True, timeout=120)


def test_make_rebuilds_an_environment_when_its_override_has_another_version(tmp_path):
    venvs = tmp_path / "venvs"
    stamp = venvs / "mxnet" / ".stamp"
    fake_python(venvs / "mxnet" / "bin" / "python", "3.11.7")
    py312 = fake_python(tmp_path / "python3.12", "3.12.1")
    stamp.write_text("3.11.7\n")  # newer than requirements/mxnet.txt and pyproject.toml
    target = [f"VENV={venvs}", f"KERNELS={tmp_path / 'kernels'}", str(stamp)]
    assert make("-q", *target).returncode == 0
    assert make("-q", *target, f"PYTHON_MXNET={py312}").returncode == 1
    assert make("-q", *target, f"PYTHON={py312}").returncode == 1
    stamp.write_text("3.12.1\n")
    assert make("-q", *target, f"PYTHON_MXNET={py312}").returncode == 0


def test_make_stops_before_installing_anything_when_no_python_fits(tmp_path):
    venvs = tmp_path / "venvs"
    py313 = fake_python(tmp_path / "python3.13", "3.13.0")
    proc = make(f"VENV={venvs}", f"KERNELS={tmp_path / 'kernels'}", f"PYTHON_MXNET={py313}",
                str(venvs / "mxnet" / ".stamp"))
    assert proc.returncode != 0
    assert f"PYTHON_MXNET={py313} is Python 3.13.0" in proc.stderr
    assert "nothing was installed" in proc.stderr
    assert not (venvs / "mxnet").exists() and not (tmp_path / "kernels").exists()


def test_find_gives_tools_one_python_of_a_version_or_names_what_to_install(machine, monkeypatch):
    """pick_python.find, which the Colab-like runs, the extras matrix and the MXNet-on-3.12 test use."""
    machine.python("python3", "3.11.7")
    machine.python("python3.12", "3.12.1", venv=False)  # cannot make virtualenvs: passed over
    good = machine.pyenv_version("3.12.4")
    machine.pyenv_version("3.12.2")
    monkeypatch.setenv("PATH", str(machine.bin))
    monkeypatch.setenv("PYENV_ROOT", str(machine.pyenv))
    assert pick_python.find("==3.12.*", purpose="the test") == str(good)
    with pytest.raises(SystemExit, match=r"the test needs Python ==3\.10\.\* with venv.*install Python 3\.10"):
        pick_python.find("==3.10.*", purpose="the test")
