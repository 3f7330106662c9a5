#!/usr/bin/env python3
"""Pick the Python interpreter each virtual environment is made from (`make envs`, Binder).

    tools/pick_python.py [--venvs DIR] [--print ENV] ENV=REQUIREMENTS...

Each ENV=REQUIREMENTS names an environment (DIR/ENV, DIR defaults to .venv) and its pip file,
whose header declares the Python versions its pins support, and optionally a preference order:

    # python: >=3.11,<3.13
    # python-prefer: 3.11, 3.12

(a PEP 440 specifier set; without `python-prefer`, 3.11 comes first, then the newest). A file
without a `# python:` line inherits the one of the first file it includes with `-r`.

For every environment the picker decides, before anything is installed:
- with an override (the environment variable PYTHON_<ENV>, e.g. PYTHON_MXNET, else PYTHON; make
  passes its variables of those names): that interpreter, which must fit; an existing environment
  of another Python version is made again from it;
- else an existing environment whose Python fits is kept;
- else the most preferred fitting interpreter found on PATH (`python3`, `python3.X`; pyenv's
  shims and virtualenvs' pythons are skipped) or in pyenv (`$PYENV_ROOT`, `pyenv root` or
  ~/.pyenv: versions/*/bin/python); the newest release of a version first.
An interpreter fits when it is CPython, in the file's range, and can make virtualenvs (venv and
ensurepip, which Debian ships apart as python3.X-venv).

If any environment has no interpreter, it prints what to install for each and exits 1. Otherwise,
with --print ENV, it prints ENV's choice to stderr and, on stdout, the interpreter to make ENV
from (an empty line: keep the existing environment); without --print, one line per environment.
Runs with any Python >= 3.8; no third-party modules.
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PREFER = ("3.11",)  # the version every pin is known to work with (torch's CPU wheel)
# What each candidate reports: implementation and version (without `site`: fast; Python 2 runs
# it too, and is then out of range). Whether it can make virtualenvs is asked only of the
# interpreter about to be chosen (importing venv and ensurepip takes a while).
PROBE = ("import sys; v = sys.version_info; "
         "n = getattr(getattr(sys, 'implementation', None), 'name', 'cpython'); "
         "sys.stdout.write('%s %d.%d.%d\\n' % (n, v[0], v[1], v[2]))")
VENV_PROBE = "import venv, ensurepip"


# ------------------------------------------------------------------------------------------
# Versions and specifiers (the subset of PEP 440 a Python range needs)
# ------------------------------------------------------------------------------------------
def parse_version(text: str) -> tuple[int, ...]:
    m = re.match(r"\d+(\.\d+)*", text.strip())
    if not m:
        raise ValueError(f"not a version: {text!r}")
    return tuple(int(p) for p in m.group(0).split("."))


def _cmp(a: tuple, b: tuple) -> int:
    n = max(len(a), len(b))
    a, b = a + (0,) * (n - len(a)), b + (0,) * (n - len(b))
    return (a > b) - (a < b)


def fits(version: str, spec: str) -> bool:
    """Whether `version` (e.g. "3.12.1") satisfies `spec` (e.g. ">=3.11,<3.13", "==3.11.*")."""
    v = parse_version(version)
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        m = re.fullmatch(r"(==|!=|>=|<=|>|<|~=)\s*([\d.]+)(\.\*)?", clause)
        if not m:
            raise ValueError(f"unsupported Python specifier {clause!r} (use e.g. >=3.11,<3.13)")
        op, ref, star = m.group(1), parse_version(m.group(2)), m.group(3)
        if star:
            if op not in ("==", "!="):
                raise ValueError(f"unsupported Python specifier {clause!r}")
            same = v[:len(ref)] == ref
            ok = same if op == "==" else not same
        elif op == "~=":
            ok = _cmp(v, ref) >= 0 and v[:len(ref) - 1] == ref[:-1]
        else:
            c = _cmp(v, ref)
            ok = {"==": c == 0, "!=": c != 0, ">=": c >= 0, "<=": c <= 0, ">": c > 0, "<": c < 0}[op]
        if not ok:
            return False
    return True


def minor(version: str) -> str:
    return ".".join(str(p) for p in parse_version(version)[:2])


# ------------------------------------------------------------------------------------------
# Requirement file headers
# ------------------------------------------------------------------------------------------
@dataclass
class Header:
    spec: str          # "" accepts every Python 3
    prefer: tuple      # minor versions, most preferred first
    source: str        # the file that declared the range


def read_header(path: Path, _seen=()) -> Header:
    """The `# python:` and `# python-prefer:` lines of a pip file (or of its first `-r` file)."""
    spec = prefer = None
    includes = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        m = re.match(r"#\s*python(-prefer)?\s*:\s*(.*)$", line)
        if m and m.group(1):
            prefer = tuple(p for p in re.split(r"[\s,]+", m.group(2)) if p)
        elif m:
            spec = m.group(2).strip()
            fits("3.11", spec)  # raises on a malformed specifier
        elif line.startswith("-r "):
            includes.append(path.parent / line[3:].strip())
    if spec is None:
        for inc in includes:
            if inc.resolve() not in _seen:
                inherited = read_header(inc, _seen + (path.resolve(),))
                if inherited.spec:
                    return Header(inherited.spec, prefer or inherited.prefer, inherited.source)
    return Header(spec or "", prefer or DEFAULT_PREFER, str(path))


# ------------------------------------------------------------------------------------------
# Interpreters
# ------------------------------------------------------------------------------------------
@dataclass
class Interpreter:
    path: str         # what to run
    version: str      # e.g. "3.12.1"
    cpython: bool
    _venv_ok: bool | None = None

    @property
    def venv_ok(self) -> bool:
        """Whether it has venv and ensurepip (Debian ships them apart: python3.X-venv)."""
        if self._venv_ok is None:
            try:
                self._venv_ok = subprocess.run(
                    [self.path, "-E", "-s", "-c", VENV_PROBE], capture_output=True, timeout=60,
                    stdin=subprocess.DEVNULL).returncode == 0
            except (OSError, subprocess.SubprocessError):
                self._venv_ok = False
        return self._venv_ok


_probed: dict = {}


def probe(command: str) -> Interpreter | None:
    """Run `command` (a path or a name on PATH) to learn what Python it is; None if it is none."""
    exe = command if os.sep in command else shutil.which(command)
    if not exe or not os.access(exe, os.X_OK) or os.path.isdir(exe):
        return None
    key = os.path.abspath(exe)  # not the real path: a venv's python links to its base's binary
    if key not in _probed:
        try:
            out = subprocess.run([exe, "-E", "-s", "-S", "-c", PROBE], capture_output=True,
                                 text=True, timeout=30, stdin=subprocess.DEVNULL).stdout.split()
            impl, version = out[0], out[1]
            parse_version(version)
            _probed[key] = Interpreter(exe, version, impl == "cpython")
        except (OSError, subprocess.SubprocessError, IndexError, ValueError):
            _probed[key] = None
    return _probed[key]


def pyenv_root() -> Path | None:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30)
            if out.returncode == 0 and out.stdout.strip():
                return Path(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    home = Path(os.path.expanduser("~/.pyenv"))
    return home if home.is_dir() else None


def name_version(path: str) -> str | None:
    """The version a candidate's name promises (python3.12, pyenv's versions/3.12.1), if any."""
    m = (re.search(r"python(\d+\.\d+)$", path)
         or re.search(r"versions[/\\](\d+\.\d+(?:\.\d+)?)[/\\]bin[/\\]python$", path))
    return m.group(1) if m else None


def discover(specs=None) -> list[Interpreter]:
    """The interpreters on PATH and in pyenv, each once, in discovery order. Candidates whose name
    promises a version outside every range of `specs` are not run."""
    root = pyenv_root()
    shims = os.path.realpath(root / "shims") if root else None
    paths = []
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if not d or not os.path.isdir(d) or os.path.realpath(d) == shims:
            continue
        names = sorted((n for n in os.listdir(d) if re.fullmatch(r"python3(\.\d+)?", n)),
                       key=lambda n: (n != "python3", n))
        paths += [os.path.join(d, n) for n in names]
    if root:
        paths += sorted(glob.glob(str(root / "versions" / "*" / "bin" / "python")))
    found, seen = [], set()
    for p in paths:
        key = os.path.realpath(p)
        if key in seen:
            continue
        seen.add(key)
        if os.path.exists(os.path.join(os.path.dirname(os.path.dirname(p)), "pyvenv.cfg")):
            continue  # a virtualenv's python (an activated venv, pyenv-virtualenv): take its base
        promised = name_version(p)
        if specs is not None and promised and not any(fits(promised, s) for s in specs):
            continue
        interp = probe(p)
        if interp is not None:
            found.append(interp)
    return found


def in_range(interp: Interpreter, header: Header) -> bool:
    return interp.cpython and fits(interp.version, header.spec)


def rank(header: Header):
    """Sort key of candidates: preferred minor versions first (in the file's order), then the
    other versions newest first; within one minor version the newest release."""
    def key(interp: Interpreter):
        m = minor(interp.version)
        pref = header.prefer.index(m) if m in header.prefer else len(header.prefer)
        return (pref, tuple(-p for p in parse_version(interp.version)))
    return key


def find(spec: str, prefer=(), purpose: str = "") -> str:
    """The best interpreter for ``spec`` (e.g. ``"==3.12.*"``) on PATH or in pyenv that can make
    virtualenvs, for tools and tests that need one Python besides the environments' own.
    Raises SystemExit naming what to install when there is none."""
    header = Header(spec, tuple(prefer), purpose or spec)
    found = [c for c in discover([spec]) if in_range(c, header) and c.venv_ok]
    if not found:
        raise SystemExit(f"{purpose or 'this'} needs Python {spec} with venv, found none on PATH "
                         f"or in pyenv: {suggest(header, purpose or 'python')}")
    return min(found, key=rank(header)).path


# ------------------------------------------------------------------------------------------
# Decisions
# ------------------------------------------------------------------------------------------
def override_var(env: str) -> str:
    return "PYTHON_" + re.sub(r"\W", "_", env).upper()


def suggest(header: Header, env: str) -> str:
    """What to install (or set) to give `env` an interpreter."""
    want = next((v for v in header.prefer if not header.spec or fits(v, header.spec)), None)
    if want is None:
        want = next((f"3.{n}" for n in range(20, 7, -1) if fits(f"3.{n}", header.spec)), "3.11")
    ways = [f"`pyenv install {want}`"]
    if shutil.which("apt-get"):
        ways.append(f"`apt-get install python{want} python{want}-venv` (where your distribution "
                    f"has Python {want})")
    ways.append(f"or name an interpreter: `make {override_var(env)}=/path/to/python{want}`")
    return "install Python " + want + ": " + ", ".join(ways)


def decide(env: str, header: Header, existing: Path, candidates):
    """(interpreter to make the environment from or None to keep it, message); raises
    LookupError with what to do when no interpreter fits. `candidates` is called lazily."""
    name = override_var(env)
    chosen_by = next((v for v in (name, "PYTHON") if os.environ.get(v)), None)
    have = probe(str(existing)) if existing.exists() else None
    range_ = header.spec or "any Python 3"
    where = f"{header.source} supports Python {range_}"
    if chosen_by:
        command = os.environ[chosen_by]
        interp = probe(command)
        if interp is None:
            raise LookupError(f"{chosen_by}={command} is not a Python interpreter that runs here: "
                              f"name an existing one, e.g. {chosen_by}=/usr/bin/python3.11")
        if not (interp.cpython and fits(interp.version, header.spec)):
            raise LookupError(f"{chosen_by}={command} is Python {interp.version}, but {where}: "
                              f"name another one, or unset {chosen_by}")
        if not interp.venv_ok:
            raise LookupError(f"{chosen_by}={command} (Python {interp.version}) cannot make "
                              f"virtualenvs: install its venv module "
                              f"(Debian/Ubuntu: `apt-get install python{minor(interp.version)}-venv`)")
        if have and have.version == interp.version:
            return None, f"keeps {existing.parent.parent} (Python {have.version}, as {chosen_by})"
        return interp, f"Python {interp.version}: {interp.path} ({chosen_by})"
    if have and have.cpython and fits(have.version, header.spec):
        return None, f"keeps {existing.parent.parent} (Python {have.version})"
    for c in sorted((c for c in candidates() if in_range(c, header)), key=rank(header)):
        if c.venv_ok:
            how = "" if not have else f"; rebuilds {existing.parent.parent}, made with Python {have.version}"
            return c, f"Python {c.version}: {c.path}{how}"
    seen = [f"{c.version} ({c.path}{', no venv module' if in_range(c, header) else ''})"
            for c in candidates()]
    raise LookupError(f"no Python for {where}; found " + (", ".join(seen) or "none")
                      + ". To fix: " + suggest(header, env))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--venvs", default=".venv", help="folder of the environments (default .venv)")
    ap.add_argument("--print", dest="show", metavar="ENV",
                    help="print the interpreter to make ENV from (empty: keep it)")
    ap.add_argument("envs", nargs="+", metavar="ENV=REQUIREMENTS")
    args = ap.parse_args(argv)
    specs = {}
    for item in args.envs:
        env, sep, req = item.partition("=")
        if not sep or not env or not req:
            ap.error(f"expected ENV=REQUIREMENTS, not {item!r}")
        specs[env] = Path(req)
    if args.show and args.show not in specs:
        ap.error(f"--print {args.show}: not among the environments given")
    headers, problems = {}, []
    for env, req in specs.items():
        try:
            headers[env] = read_header(req)
        except (OSError, ValueError) as err:
            problems.append(f"  {env}: {req}: {err}")
    cache = []

    def candidates():
        if not cache:
            cache.append(discover([h.spec for h in headers.values()]))
        return cache[0]

    choices = {}
    for env, header in headers.items():
        try:
            choices[env] = decide(env, header, Path(args.venvs) / env / "bin" / "python", candidates)
        except LookupError as err:
            problems.append(f"  {env}: {err}")
    if problems:
        print("pick_python: no interpreter for these environments (nothing was installed):\n"
              + "\n".join(problems), file=sys.stderr)
        return 1
    if args.show:
        interp, message = choices[args.show]
        print(f"   {args.show}: {message}", file=sys.stderr)
        print(interp.path if interp else "")
    else:
        for env, (interp, message) in choices.items():
            print(f"{env}: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
