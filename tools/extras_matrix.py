#!/usr/bin/env python3
"""Check that the version ranges of d2l_support's extras are true: run the d2l_support tests
(tests/support/test_core.py and test_<framework>.py) against three installs per framework.

    .venv/book/bin/python tools/extras_matrix.py                          # every variant and framework
    .venv/book/bin/python tools/extras_matrix.py --variants newest --frameworks jax mxnet
    .venv/book/bin/python tools/extras_matrix.py --pytest-args "-m 'not slow'"

Variants:
  pinned   the book's environments `.venv/<framework>` (requirements/<framework>.txt), as they are
  minimum  a fresh Python 3.11 env: `d2l_support[<extra>]` from a copy of the working tree, with
           every lower bound of the extra pinned exactly (`torch>=2.4` -> `torch==2.4.0`); numpy
           and matplotlib are what pip resolves beside them (the newest that those releases allow)
  newest   a fresh Python 3.12 env: `pip install "d2l_support[<extra>]"` from the same copy, which
           resolves to the newest releases on the index (within this machine's pip constraints,
           /etc/xdg/pip/constraints.txt, which cap torch)

Fresh environments go to `.venv/matrix/<framework>-<variant>` and are recreated on every run (pip's
cache keeps the downloads). The tests run from a copy of tests/support, so d2l_support is the
installed one. Prints a table: framework x variant, versions installed, tests passed/failed,
seconds; exits non-zero if any cell failed.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pick_python  # noqa: E402
from colab_like import clean_env, log, pip_install, run  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FRAMEWORKS = ("pytorch", "tensorflow", "mxnet", "jax")
VARIANTS = ("pinned", "minimum", "newest")
EXTRA = {"pytorch": "torch", "tensorflow": "tensorflow", "mxnet": "mxnet", "jax": "jax"}
TESTS = {fw: f"test_{EXTRA[fw]}.py" for fw in FRAMEWORKS}
# The interpreter of each variant: $MATRIX_PYTHON_<VARIANT>, else one found on PATH or in pyenv
# (tools/pick_python.py): 3.11 (the book's own) for the minimum, 3.12 (Colab's, and the first with
# jax 0.12 and numpy 2.5) for the newest.
PYTHON_SPEC = {"minimum": "==3.11.*", "newest": "==3.12.*"}


def variant_python(variant: str) -> str:
    return os.environ.get(f"MATRIX_PYTHON_{variant.upper()}") or pick_python.find(
        PYTHON_SPEC[variant], purpose=f"the {variant} variant of the extras matrix")
# Pinned exactly in `minimum` besides the extra's lower bounds (jax names no jaxlib bound itself).
MINIMUM_COMPANIONS = {"jax": {"jaxlib": "jax"}}
SHOWN = {"pytorch": ["torch"], "tensorflow": ["tensorflow", "keras"], "mxnet": ["mxnet"],
         "jax": ["jax", "jaxlib", "flax", "optax"]}
ENVS = REPO / ".venv" / "matrix"


def extra_requirements(framework: str, pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    return tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"][EXTRA[framework]]


def minimum_pins(framework: str, python: str) -> list[str]:
    """Each `name>=X` of the extra (whose marker holds on `python`) as `name==X`."""
    marker_check = ("import sys, json; from packaging.requirements import Requirement as R; "
                    "print(json.dumps([str(R(r).name) + '==' + next(s.version for s in R(r).specifier "
                    "if s.operator in ('>=', '==')) for r in json.loads(sys.argv[1]) "
                    "if (R(r).marker is None or R(r).marker.evaluate()) and "
                    "any(s.operator in ('>=', '==') for s in R(r).specifier)]))")
    # packaging is vendored by pip: evaluate markers in the target interpreter.
    code = marker_check.replace("from packaging", "from pip._vendor.packaging")
    pins = json.loads(run([python, "-c", code, json.dumps(extra_requirements(framework))]))
    bounds = {p.split("==")[0]: p.split("==")[1] for p in pins}
    for companion, of in MINIMUM_COMPANIONS.get(framework, {}).items():
        pins.append(f"{companion}=={bounds[of]}")
    return pins


def source_copy(dest: Path) -> Path:
    """The installable part of the working tree (pip builds in the source tree)."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, dest / name)
    shutil.copytree(REPO / "d2l_support", dest / "d2l_support",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


def make_env(framework: str, variant: str, source: Path) -> Path:
    """Create `.venv/matrix/<fw>-<variant>` afresh and install d2l_support[<extra>] into it."""
    path = ENVS / f"{framework}-{variant}"
    python = variant_python(variant)
    run([python, "-m", "venv", "--clear", str(path)])
    requirement = f"d2l_support[{EXTRA[framework]}] @ {source.as_uri()}"
    pins = minimum_pins(framework, python) if variant == "minimum" else []
    log(f"[{framework}/{variant}] pip install {requirement!r} {' '.join(pins)} pytest")
    run([str(path / "bin/python"), "-m", "pip", "install", "-q", "-U", "pip"], env=clean_env())
    pip_install(path / "bin/python", requirement, *pins, "pytest")
    return path


def installed_versions(python: Path, framework: str) -> dict:
    code = ("import importlib.metadata as m, json, sys; out = {'python': sys.version.split()[0]}\n"
            "for n in sys.argv[1:]:\n"
            "    try: out[n] = m.version(n)\n"
            "    except m.PackageNotFoundError: pass\n"
            "print(json.dumps(out))")
    names = SHOWN[framework] + ["tensorflow-cpu", "numpy", "matplotlib"]
    return json.loads(run([str(python), "-c", code, *names], env=clean_env()))


def run_tests(python: Path, framework: str, workdir: Path, pytest_args: list[str]) -> tuple[dict, str]:
    """pytest test_core.py and test_<fw>.py from a copy of tests/support; returns counts, output."""
    tests = workdir / "tests"
    if not tests.exists():
        shutil.copytree(REPO / "tests" / "support", tests, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(REPO / "pytest.ini", tests / "pytest.ini")
    where = run([str(python), "-c", "import d2l_support; print(d2l_support.__file__)"], cwd=tests,
                env=clean_env())
    proc = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args,
                           "test_core.py", TESTS[framework]], cwd=tests, env=clean_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|errors?|skipped|deselected)",
                                                 proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "")}
    counts["returncode"] = proc.returncode
    return counts, f"d2l_support from {where.strip()}\n{proc.stdout}"


def check(framework: str, variant: str, source: Path, workdir: Path, pytest_args: list[str]) -> dict:
    start = time.monotonic()
    row = {"framework": framework, "variant": variant}
    try:
        if variant == "pinned":
            env = REPO / ".venv" / framework
            if not (env / ".stamp").exists():
                raise RuntimeError(f"{env} is missing: make envs")
        else:
            env = make_env(framework, variant, source)
        row["install_s"] = time.monotonic() - start
        row["versions"] = installed_versions(env / "bin" / "python", framework)
        row["counts"], row["output"] = run_tests(env / "bin" / "python", framework, workdir, pytest_args)
        row["ok"] = row["counts"]["returncode"] == 0
    except RuntimeError as err:
        row.update(ok=False, counts={}, output=str(err))
    row["seconds"] = time.monotonic() - start
    row.setdefault("install_s", row["seconds"])
    return row


def table(rows: list[dict]) -> str:
    lines = [f"{'framework':<11} {'variant':<8} {'python':<7} {'versions':<76} {'passed':>6} {'failed':>6} "
             f"{'install s':>9} {'total s':>7}"]
    for r in rows:
        v = dict(r.get("versions", {}))
        python = v.pop("python", "?")
        versions = " ".join(f"{k}={x}" for k, x in v.items())
        c = r["counts"]
        failed = c.get("failed", 0) + c.get("error", 0) + c.get("errors", 0)
        failed_text = str(failed) if r["ok"] or failed else "ERROR"
        lines.append(f"{r['framework']:<11} {r['variant']:<8} {python:<7} {versions:<76} {c.get('passed', 0):>6} "
                     f"{failed_text:>6} {r['install_s']:9.0f} {r['seconds']:7.0f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--frameworks", nargs="+", default=list(FRAMEWORKS), choices=FRAMEWORKS)
    parser.add_argument("--pytest-args", default="", help="passed to pytest, e.g. \"-m 'not slow'\"")
    parser.add_argument("--json", type=Path, help="also write the rows (with test output) here")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="extras-matrix-") as tmp:
        (Path(tmp) / "src").mkdir()
        source = source_copy(Path(tmp) / "src")
        for framework in args.frameworks:
            for variant in args.variants:
                log(f"== {framework} / {variant}")
                row = check(framework, variant, source, Path(tmp), shlex.split(args.pytest_args))
                log(row["output"].strip().splitlines()[-1] if row["output"].strip() else "(no output)")
                if not row["ok"]:
                    log(f"-- {framework} / {variant} FAILED:\n{row['output'][-8000:]}")
                rows.append(row)
    log("\n" + table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
