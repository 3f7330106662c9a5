"""What a fixed per-kernel thread count costs, and whether outputs still depend on JOBS.

Executes one page's notebook for one framework (no cache) under two thread schemes:

- fixed: the count `_config.yml` sets (`threads`, passed in `threads_env`), whatever JOBS is;
- auto (the engine's scheme before): each kernel gets CPUs // (kernels running at once).

For each scheme it runs the notebook with JOBS=1 (one kernel) and with JOBS=N (N copies of the
same notebook at once, the load of a parallel build), and prints the wall time of one
notebook's execution and whether the outputs of the two runs are identical (stream and
text/plain outputs, compared cell by cell; lines that report a speed or a time are masked,
since they differ run to run under any scheme).

    .venv/book/bin/python benchmarks/reproducibility.py [--page chapters/training-api.md]
        [--framework tensorflow] [--jobs 2]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tabbook.config import BookConfig, load_config, read_config_file  # noqa: E402
from tabbook.execute import execute  # noqa: E402
from tabbook.parse import parse_page  # noqa: E402
from tabbook.split import split_page  # noqa: E402

# a speed or a duration: "12.3 examples/sec", "4.5 s", "0:00:12", "'fit_seconds': 0.76"
_VARIABLE = re.compile(r"\d[\d.,]*\s*(?:[a-z]+/s(?:ec)?|tokens/sec|examples/sec|s\b|sec\b|ms\b)|\d+:\d\d:\d\d"
                       r"|(?<=seconds'\: )[\d.e+-]+|(?<=seconds\": )[\d.e+-]+|(?<=seconds=)[\d.e+-]+",
                       re.IGNORECASE)


def _config(threads) -> BookConfig:
    raw = read_config_file(ROOT)
    tb = dict(raw["sphinx"]["config"]["tabbook"], threads=threads)
    config = BookConfig.from_dict(tb, ROOT, repository=raw.get("repository"))
    config.validate()
    return config


def _outputs(nb) -> list[str]:
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                parts.append(o.get("text", ""))
            elif "text/plain" in o.get("data", {}):
                parts.append(o["data"]["text/plain"])
        out.append(_VARIABLE.sub("<t>", "".join(parts)))
    return out


def _run(config: BookConfig, page: str, framework: str, jobs: int, auto_threads: int):
    split = split_page(parse_page(ROOT / page, config), config.frameworks)[framework]
    log_dir = ROOT / "_build" / "benchmarks" / "logs"

    def one(_):
        start = time.monotonic()
        nb = execute(split, threads=auto_threads, log_dir=log_dir)
        return time.monotonic() - start, _outputs(nb)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(one, range(jobs)))
    return sum(t for t, _ in results) / len(results), results[0][1]


def _differences(a: list[str], b: list[str]) -> list[str]:
    diff = []
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            xl, yl = x.splitlines(), y.splitlines()
            first = next((j for j in range(min(len(xl), len(yl))) if xl[j] != yl[j]), 0)
            diff.append(f"cell {i + 1}: {(xl or [''])[min(first, len(xl) - 1)][:70]!r} vs "
                        f"{(yl or [''])[min(first, len(yl) - 1)][:70]!r}")
    return diff


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--page", default="chapters/training-api.md")
    ap.add_argument("--framework", default="tensorflow")
    ap.add_argument("--jobs", type=int, default=2, help="kernels at once in the parallel runs (default 2)")
    args = ap.parse_args()
    cpus = len(os.sched_getaffinity(0))
    fixed = load_config(ROOT).frameworks[args.framework].threads
    print(f"{args.page} [{args.framework}], {cpus} CPUs; fixed count from _config.yml: {fixed}")
    print(f"{'scheme':<8}{'JOBS':>5}{'threads':>9}{'seconds/notebook':>18}")
    rows = {}
    for scheme, threads in (("fixed", fixed), ("auto", "auto")):
        config = _config(threads)
        for jobs in (1, args.jobs):
            auto = max(1, cpus // jobs)
            used = config.frameworks[args.framework].threads or auto
            seconds, outputs = _run(config, args.page, args.framework, jobs, auto)
            rows[(scheme, jobs)] = (seconds, outputs, used)
            print(f"{scheme:<8}{jobs:>5}{used:>9}{seconds:>18.1f}", flush=True)
    for scheme in ("fixed", "auto"):
        diff = _differences(rows[(scheme, 1)][1], rows[(scheme, args.jobs)][1])
        verdict = "identical" if not diff else f"{len(diff)} cell(s) differ"
        print(f"{scheme}: outputs with JOBS=1 and JOBS={args.jobs}: {verdict}")
        for d in diff[:5]:
            print(f"    {d}")
    for jobs in (1, args.jobs):
        (f, _, tf), (a, _, ta) = rows[("fixed", jobs)], rows[("auto", jobs)]
        if tf == ta:
            print(f"JOBS={jobs}: both schemes use {tf} thread(s); the difference, {f - a:+.1f} s, is "
                  f"run-to-run noise on this machine")
        else:
            print(f"cost of the fixed count at JOBS={jobs} ({tf} vs {ta} threads): {f - a:+.1f} s per "
                  f"notebook ({(f / a - 1) * 100:+.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
