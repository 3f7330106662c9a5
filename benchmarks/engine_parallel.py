"""Parallel vs serial execution of the frameworks of one page (no cache).

Makes a one-page book whose page has a tiny cell per framework and times
`python -m tabbook execute` with --jobs 1 and --jobs N on a cold cache.

    .venv/book/bin/python benchmarks/engine_parallel.py [--frameworks pytorch,jax] [--jobs 2] [--repeat 1]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CELL = {
    "pytorch": "import torch\nprint(torch.ones(3).sum().item())",
    "tensorflow": "import tensorflow as tf\nprint(float(tf.reduce_sum(tf.ones(3))))",
    "mxnet": "from mxnet import np\nprint(float(np.ones(3).sum()))",
    "jax": "import jax.numpy as jnp\nprint(float(jnp.ones(3).sum()))",
}


def make_book(root: Path, frameworks: list[str]) -> None:
    fws = "\n".join(f"        {fw}: {{kernel: d2l-{fw}}}" for fw in frameworks)
    (root / "_config.yml").write_text(
        "title: parallel benchmark\ncopyright: '2025'\nrepository: {url: https://example.org/r, branch: main}\n"
        f"sphinx:\n  config:\n    tabbook:\n      frameworks:\n{fws}\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    cells = "\n".join(f"```{{code-cell}}\n%%tab {fw}\n{CELL[fw]}\n```\n" for fw in frameworks)
    (root / "page.md").write_text(
        f"---\ntabbook:\n  frameworks: [{', '.join(frameworks)}]\n---\n# One page\n\n"
        f"```{{code-cell}}\nx = sum(range(10))\n```\n\n{cells}")


def timed(root: Path, jobs: int) -> float:
    build = root / "_build"
    if build.exists():
        subprocess.run(["rm", "-rf", str(build)], check=True)
    t = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "tabbook", "execute", "--jobs", str(jobs)], cwd=root,
                       env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True)
    if r.returncode:
        sys.exit(r.stderr[-3000:])
    return time.monotonic() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frameworks", default="pytorch,jax")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    frameworks = args.frameworks.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_book(root, frameworks)
        print(f"one page, frameworks: {', '.join(frameworks)}; cpus: {os.cpu_count()}")
        serial = min(timed(root, 1) for _ in range(args.repeat))
        parallel = min(timed(root, args.jobs) for _ in range(args.repeat))
        print(f"serial   (--jobs 1): {serial:6.1f} s")
        print(f"parallel (--jobs {args.jobs}): {parallel:6.1f} s")
        print(f"speed-up: {serial / parallel:.2f}x")


if __name__ == "__main__":
    main()
