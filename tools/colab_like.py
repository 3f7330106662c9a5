#!/usr/bin/env python3
"""Run the exported notebooks as Colab runs them: a fresh Python 3.12 environment per framework
holding only what Colab preinstalls, and each notebook's own install cell, as written, with only
its repository URL pointed at a local git copy of this checkout.

    .venv/book/bin/python tools/colab_like.py                     # all 28 notebooks, 2 at once
    .venv/book/bin/python tools/colab_like.py --frameworks mxnet --pages rnn-concise
    .venv/book/bin/python tools/colab_like.py --setup-only        # only create the environments

What Colab preinstalls comes from the image's own lists (github.com/googlecolab/backend-info,
pip-freeze.txt and pip-freeze.gpu.txt, the last Python 3.12 image, before the move to Python 3.13
in August 2026): numpy 2.0.2, matplotlib 3.10.0, ipykernel 6.17.1 / IPython 7.34.0, requests;
torch 2.11.0 (Colab's GPU image has its cu128 build; PyPI serves the cu130 one, which runs on
the CPU too), tensorflow 2.20.0 (Keras 3),
jax/jaxlib 0.7.2 with flax 0.11.2 and optax 0.2.8; no MXNet. Colab also ships setuptools 75.2.0;
these environments do not, so the extras must bring what they need of it.

Each environment lives in `.venv/colab/<framework>` (created once; recreated when the pins below
change) with a kernel `colab-<framework>` registered in it. Before each notebook the environment is
put back to what it held after setup (the packages an install cell added are removed, the ones it
changed reinstalled), so every notebook starts from Colab's state. Kernels get no PYTHONPATH and
no user site: d2l_support can come only from the install cell. Running several notebooks at once
(`--jobs`, different frameworks only: one environment runs one notebook at a time), each kernel
gets its share of the CPUs through D2L_NUM_THREADS.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FRAMEWORKS = ("pytorch", "tensorflow", "mxnet", "jax")
NOTEBOOKS = REPO / "_build" / "html" / "_notebooks"
ENVS = REPO / ".venv" / "colab"
sys.path.insert(0, str(REPO / "tools"))
import pick_python  # noqa: E402  (tools/pick_python.py: interpreters on PATH and in pyenv)


def colab_python() -> str:
    """Colab's Python: $COLAB_PYTHON, else a Python 3.12 found on PATH or in pyenv."""
    return os.environ.get("COLAB_PYTHON") or pick_python.find("==3.12.*", purpose="the Colab-like runs")
# pip's HTTP cache stores nothing on this kind of machine (the responses forbid it), so the
# environments' wheels are kept here and reused (torch's CUDA build alone is several GB).
WHEELHOUSE = Path(os.environ.get("D2L_WHEELHOUSE", Path.home() / ".cache" / "d2l_support" / "wheels"))

# Colab's preinstalled versions (googlecolab/backend-info, last Python 3.12 image). pip first:
# the one that comes with Python 3.12.1 (23.2) rejects `git+file:///` requirement URLs.
COLAB_PIP = "pip==24.1.2"
COLAB_BASE = ["numpy==2.0.2", "matplotlib==3.10.0", "requests==2.32.4", "ipykernel==6.17.1",
              "ipython==7.34.0", "jupyter_client==7.4.9", "traitlets==5.7.1", "tornado==6.5.7",
              "pyzmq==26.2.1", "matplotlib-inline==0.2.2"]
COLAB_FRAMEWORK = {
    "pytorch": ["torch==2.11.0"],
    "tensorflow": ["tensorflow==2.20.0", "keras==3.13.2"],
    "mxnet": [],
    "jax": ["jax==0.7.2", "jaxlib==0.7.2", "flax==0.11.2", "optax==0.2.8"],
}
# The framework's import name, the module of d2l_support and the distribution to report.
MODULE = {"pytorch": "torch", "tensorflow": "tensorflow", "mxnet": "mxnet", "jax": "jax"}

# The install cell's requirement: `d2l_support[<extra>] @ git+<url>@<ref>`.
GIT_URL = re.compile(r"git\+(?P<url>[a-z]+://[^\s\"'@]+?)(?:@(?P<ref>[^\s\"'#]+))?(?=[\s\"'#]|$)")

# The last cell the harness appends: where d2l_support came from, and the versions in use.
CHECK_CELL = """\
import importlib.metadata as _md, json as _json, sys as _sys, d2l_support as _d2l
_dist = _md.distribution('d2l_support')
print('COLAB_LIKE_CHECK ' + _json.dumps({
    'file': _d2l.__file__, 'python': _sys.version.split()[0], 'executable': _sys.executable,
    'direct_url': _json.loads(_dist.read_text('direct_url.json') or 'null'),
    'versions': {n: _md.version(n) for n in %r if _md.packages_distributions().get(n) or n == 'numpy'},
}))
"""


def log(*args):
    print(*args, flush=True)


def run(cmd, **kw):
    """subprocess.run that raises with the command's output on failure."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout[-6000:]}")
    return proc.stdout


# ------------------------------------------------------------------------------------------
# The local repository the install cells point at
# ------------------------------------------------------------------------------------------
def make_local_repo(dest: Path, source: Path = REPO) -> tuple[Path, str]:
    """A fresh git repository (branch main) holding the working tree's installable files
    (pyproject.toml, README.md, d2l_support/), committed; returns its path and HEAD."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(source / name, dest / name)
    shutil.copytree(source / "d2l_support", dest / "d2l_support",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    git = ["git", "-C", str(dest), "-c", "user.name=colab-like", "-c", "user.email=colab-like@localhost"]
    run(git + ["init", "-q", "-b", "main"])
    run(git + ["add", "-A"])
    run(git + ["commit", "-q", "-m", "d2l_support from the working tree"])
    return dest, run(git + ["rev-parse", "HEAD"]).strip()


def point_install_cell(nb, repo: Path, head: str) -> tuple[str, str]:
    """Rewrite the requirement of the cell with id `install` to `git+file://<repo>@<ref>`, keeping
    everything else as written. The ref is kept when the local repo has it (e.g. `main`); a
    commit it lacks is replaced by its HEAD. Returns (original ref, note)."""
    cells = [c for c in nb.cells if c.get("id") == "install"]
    if len(cells) != 1 or cells[0].cell_type != "code":
        raise ValueError(f"expected one code cell with id 'install', found {len(cells)}")
    cell = cells[0]
    match = GIT_URL.search(cell.source)
    if not match or "d2l_support" not in cell.source:
        raise ValueError(f"no `d2l_support[...] @ git+<url>@<ref>` in the install cell: {cell.source!r}")
    ref, note = match["ref"], ""
    if ref and subprocess.run(["git", "-C", str(repo), "rev-parse", "-q", "--verify", f"{ref}^{{commit}}"],
                              capture_output=True).returncode:
        note = f"the notebook names {ref}, which the local repo lacks: installing its HEAD {head[:12]}"
        ref = head
    url = f"git+{repo.as_uri()}" + (f"@{ref}" if ref else "")  # no ref: the default branch, main
    cell.source = cell.source[:match.start()] + url + cell.source[match.end():]
    return match["ref"] or "", note


# ------------------------------------------------------------------------------------------
# Environments
# ------------------------------------------------------------------------------------------
class ColabEnv:
    """`.venv/colab/<framework>`: Python 3.12 with Colab's packages and a kernel `colab-<fw>`."""

    def __init__(self, framework: str, root: Path = ENVS, python: str | None = None):
        self.framework, self.python_exe = framework, python or colab_python()
        self.path = root / framework
        self.python = self.path / "bin" / "python"
        self.kernel = f"colab-{framework}"
        self.pins = [COLAB_PIP] + COLAB_BASE + COLAB_FRAMEWORK[framework]
        self.stamp = self.path / ".colab-stamp"
        self.baseline_file = self.path / ".colab-baseline.json"

    def _pins_key(self) -> str:
        return hashlib.sha256(json.dumps([self.python_exe, self.pins]).encode()).hexdigest()

    def ensure(self) -> None:
        """Create the environment unless it exists for the same pins."""
        if self.stamp.exists() and self.stamp.read_text() == self._pins_key():
            return
        log(f"[{self.framework}] creating {self.path} ({self.python_exe}): {' '.join(self.pins)}")
        start = time.monotonic()
        run([self.python_exe, "-m", "venv", "--clear", str(self.path)])
        # Colab's pip first, then its packages.
        run([str(self.python), "-m", "pip", "install", "-q", COLAB_PIP], env=clean_env())
        pip_install(self.python, *self.pins)
        run([str(self.python), "-m", "ipykernel", "install", "--prefix", str(self.path),
             "--name", self.kernel, "--display-name", f"Colab-like ({self.framework})"], env=clean_env())
        self.baseline_file.write_text(json.dumps(self.installed()))
        self.stamp.write_text(self._pins_key())
        log(f"[{self.framework}] environment ready in {time.monotonic() - start:.0f} s")

    def installed(self) -> dict:
        out = run([str(self.python), "-m", "pip", "list", "--format=json"], env=clean_env())
        return {p["name"].lower(): p["version"] for p in json.loads(out)}

    def restore(self) -> list[str]:
        """Put the environment back to its state after setup; returns what changed."""
        baseline, now = json.loads(self.baseline_file.read_text()), self.installed()
        added = sorted(set(now) - set(baseline))
        changed = sorted(f"{n}=={v}" for n, v in baseline.items() if now.get(n) != v)
        if added:
            run([str(self.python), "-m", "pip", "uninstall", "-q", "-y", *added], env=clean_env())
        if changed:
            pip_install(self.python, *changed, no_deps=True)
        return [f"-{n}" for n in added] + [f"={c}" for c in changed]

    def kernel_specs(self):
        from jupyter_client.kernelspec import KernelSpecManager
        return KernelSpecManager(kernel_dirs=[str(self.path / "share" / "jupyter" / "kernels")],
                                 ensure_native_kernel=False)


def pip_install(python, *requirements, no_deps=False) -> str:
    """pip install into the environment of `python`, taking wheels from WHEELHOUSE when it has
    them (the index is still asked, so resolution is as usual) and keeping what it downloads."""
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    links = ["--find-links", str(WHEELHOUSE)]
    deps = ["--no-deps"] if no_deps else []
    run([str(python), "-m", "pip", "download", "-q", "-d", str(WHEELHOUSE), *links, *deps, *requirements],
        env=clean_env())
    return run([str(python), "-m", "pip", "install", "-q", *links, *deps, *requirements], env=clean_env())


def clean_env(**extra) -> dict:
    """This process's environment without PYTHONPATH, virtualenv variables or a user site."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PYTHONNOUSERSITE"] = "1"
    env.update(extra)
    return env


# ------------------------------------------------------------------------------------------
# Running one notebook
# ------------------------------------------------------------------------------------------
@dataclass
class Result:
    framework: str
    page: str
    seconds: float = 0.0
    error: str = ""
    note: str = ""
    check: dict = field(default_factory=dict)
    outputs: str = ""  # the stream output of every code cell, in order
    install_output: str = ""
    notebook: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.error


def stream_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def run_notebook(path: Path, env: ColabEnv, repo: Path, head: str, workdir: Path,
                 threads: int, timeout: int = 1800) -> Result:
    """Execute the exported notebook `path` in `env`'s kernel (after restoring the env), its
    install cell pointed at `repo`; the executed copy is written to workdir/<fw>/<page>.ipynb."""
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    result = Result(env.framework, path.stem)
    nb = nbformat.read(path, as_version=4)
    try:
        _, result.note = point_install_cell(nb, repo, head)
    except ValueError as err:
        result.error = f"{env.framework} {path.name}: {err}"
        return result
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    packages = ["numpy", "matplotlib", "d2l_support", "setuptools"] + {
        "pytorch": ["torch"], "tensorflow": ["tensorflow", "keras"], "mxnet": ["mxnet"],
        "jax": ["jax", "jaxlib", "flax", "optax"]}[env.framework]
    nb.cells.append(nbformat.v4.new_code_cell(CHECK_CELL % (packages,)))
    target = workdir / env.framework / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    result.notebook = target

    env.restore()
    # (ipykernel 6.17 on Python 3.12 warns about frozen modules on its stderr, not in the notebook)
    kernel_env = clean_env(D2L_NUM_THREADS=str(threads), PYDEVD_DISABLE_FILE_VALIDATION="1")
    km = KernelManager(kernel_name=env.kernel, kernel_spec_manager=env.kernel_specs())
    client = NotebookClient(nb, km=km, timeout=timeout, kernel_name=env.kernel,
                            resources={"metadata": {"path": str(target.parent)}})
    start = time.monotonic()
    try:
        client.execute(env=kernel_env)
    except CellExecutionError as err:
        index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                      and any(o.get("output_type") == "error" for o in c.outputs)), None)
        where = f"cell {index} (id {nb.cells[index].get('id')})" if index is not None else "a cell"
        result.error = f"{env.framework} {path.name}: {where} failed:\n{err}"
    except Exception as err:  # a dead kernel, a timeout
        result.error = f"{env.framework} {path.name}: {type(err).__name__}: {err}"
    finally:  # nbclient leaves a kernel it did not start running: 28 idle kernels fill the memory
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    result.seconds = time.monotonic() - start
    nbformat.write(nb, target)
    install = next(c for c in nb.cells if c.get("id") == "install")
    result.install_output = stream_text(install)
    result.outputs = "".join(stream_text(c) for c in nb.cells[:-1] if c.cell_type == "code")
    last = stream_text(nb.cells[-1])
    if "COLAB_LIKE_CHECK " in last:
        result.check = json.loads(last.split("COLAB_LIKE_CHECK ", 1)[1])
    elif not result.error:
        result.error = f"{env.framework} {path.name}: the check cell printed nothing: {last!r}"
    return result


def run_all(frameworks, pages=None, notebooks: Path = NOTEBOOKS, workdir: Path | None = None,
            jobs: int = 2, source: Path = REPO, envs_root: Path = ENVS) -> list[Result]:
    """Run every exported notebook of `frameworks` (only `pages` if given); frameworks run side
    by side, `jobs` at a time, each framework's notebooks one after another."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="colab-like-"))
    repo, head = make_local_repo(workdir / "repo", source)
    log(f"local repository {repo} at {head[:12]} (working tree of {source})")
    found = {fw: sorted(p for p in (notebooks / fw / "chapters").glob("*.ipynb")
                        if not pages or p.stem in pages) for fw in frameworks}
    missing = [fw for fw, paths in found.items() if not paths]
    if missing:
        raise SystemExit(f"no exported notebooks for {missing} under {notebooks}: build the book first")
    threads = max(1, (os.cpu_count() or 2) // max(1, min(jobs, len(frameworks))))
    results, lock = [], threading.Lock()

    def one_framework(fw):
        env = ColabEnv(fw, envs_root)
        env.ensure()
        for path in found[fw]:
            log(f"[{fw}] {path.stem}: running")
            res = run_notebook(path, env, repo, head, workdir, threads)
            status = "ok" if res.ok else "FAILED"
            log(f"[{fw}] {path.stem}: {status} in {res.seconds:.0f} s" + (f" ({res.note})" if res.note else ""))
            if res.error:
                log(res.error)
            with lock:
                results.append(res)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for future in [pool.submit(one_framework, fw) for fw in frameworks]:
            future.result()
    return results


def report(results: list[Result]) -> str:
    lines = [f"{'framework':<11} {'notebook':<18} {'seconds':>7}  result"]
    for fw in FRAMEWORKS:
        mine = [r for r in results if r.framework == fw]
        for r in sorted(mine, key=lambda r: r.page):
            versions = " ".join(f"{k}={v}" for k, v in r.check.get("versions", {}).items())
            lines.append(f"{fw:<11} {r.page:<18} {r.seconds:7.0f}  {'ok' if r.ok else 'FAILED'}  {versions}")
        if mine:
            lines.append(f"{fw:<11} {'total':<18} {sum(r.seconds for r in mine):7.0f}  "
                         f"{sum(r.ok for r in mine)}/{len(mine)} ok")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frameworks", nargs="+", default=list(FRAMEWORKS), choices=FRAMEWORKS)
    parser.add_argument("--pages", nargs="+", help="notebook names without .ipynb (default: all)")
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help="the exported notebooks")
    parser.add_argument("--workdir", type=Path, help="where the local repo and executed copies go")
    parser.add_argument("--jobs", type=int, default=2, help="frameworks run at once")
    parser.add_argument("--setup-only", action="store_true", help="only create the environments")
    args = parser.parse_args(argv)
    if args.setup_only:
        for fw in args.frameworks:
            ColabEnv(fw).ensure()
        return 0
    start = time.monotonic()
    results = run_all(args.frameworks, args.pages, args.notebooks, args.workdir, args.jobs)
    log("\n" + report(results) + f"\nwall time {time.monotonic() - start:.0f} s")
    failed = [r for r in results if not r.ok]
    for r in failed:
        log(f"\n== FAILED: {r.error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
