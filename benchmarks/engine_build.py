"""Engine rebuild figures on a copy of a book (default: the engine's fixture book).

Prints the wall time and what ran for: cold build, no-op rebuild, rebuild after editing one
framework's cell, rebuild after editing prose. With --html each step is `python -m tabbook html`
(execute + Sphinx); otherwise `python -m tabbook execute`.

    .venv/book/bin/python benchmarks/engine_build.py [--book DIR] [--html] [--jobs 2]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tabbook.config import load_config
from tabbook.layout import Layout

REPO = Path(__file__).resolve().parents[1]


def step(root: Path, name: str, command: list[str]) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    t = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "tabbook", *command], cwd=root, env=env, capture_output=True,
                       text=True)
    wall = time.monotonic() - t
    if r.returncode:
        sys.exit(f"{name}: failed (exit {r.returncode})\n{r.stderr[-3000:]}")
    jobs = json.loads(Layout.of(load_config(root)).summary.read_text())["jobs"]
    ran = [f"{j['page']}[{j['framework']}]" for j in jobs if j["status"] == "run"]
    cached = sum(j["status"] == "cached" for j in jobs)
    print(f"{name:<40} {wall:7.1f} s   run {len(ran)}, cached {cached}   {' '.join(ran)}", flush=True)


def edit_first(root: Path, pattern: str, replace) -> str:
    """Apply ``replace`` to the first match of ``pattern`` in any page; return the page."""
    for page in sorted(root.rglob("*.md")):
        if "_build" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        m = re.search(pattern, text, flags=re.M)
        if m:
            page.write_text(text[:m.start()] + replace(m) + text[m.end():], encoding="utf-8")
            return page.relative_to(root).as_posix()
    sys.exit(f"no page matches {pattern!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--book", default=str(REPO / "tests/engine/fixtures/book"))
    ap.add_argument("--html", action="store_true", help="time `tabbook html` instead of `execute`")
    ap.add_argument("--jobs", default="2")
    args = ap.parse_args()
    cmd = ["html" if args.html else "execute", "--jobs", args.jobs]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(shutil.copytree(args.book, Path(tmp) / "book",
                                    ignore=shutil.ignore_patterns("_build", ".venv", ".git")))
        print(f"book: {args.book} (copy), command: tabbook {' '.join(cmd)}, cpus: {os.cpu_count()}")
        step(root, "cold build", cmd)
        step(root, "no-op rebuild", cmd)
        page = edit_first(root, r"^%%tab \S+\n(.+)$", lambda m: m.group(0) + "  # edited")
        step(root, f"one cell edited ({page})", cmd)
        page = edit_first(root, r"^[A-Z][^\n`{]*\.$", lambda m: m.group(0) + " Edited prose.")
        step(root, f"prose edited ({page})", cmd)


if __name__ == "__main__":
    main()
