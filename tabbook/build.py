"""Orchestration: parse -> split -> execute (cached, parallel) -> merge -> export, with progress."""
from __future__ import annotations

import fnmatch
import json
import os
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from .cache import Cache, cache_key, deps_digests, write_atomic
from .config import BookConfig, ConfigError
from .execute import check_kernel, execute
from .export import export, page_accelerator, resolve_pin, site_for
from .merge import merge
from .parse import Page, SourceError, has_tabbook_content, parse_page
from .split import SplitNotebook, split_page

HEARTBEAT_S = 30


@dataclass
class JobResult:
    page: str
    framework: str
    status: str  # cached | run | failed | missing (no result and execution off)
    seconds: float = 0.0
    key: str = ""
    error: str = ""


@dataclass
class Summary:
    jobs: list[JobResult] = field(default_factory=list)
    page_errors: dict[str, str] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)  # pages not merged: frameworks left out
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.page_errors and all(j.status in ("cached", "run") for j in self.jobs)

    def count(self, status: str) -> int:
        return sum(j.status == status for j in self.jobs)


# ---------------------------------------------------------------------------------------- pages

def _toc_files(node, out: list[str]) -> None:
    if isinstance(node, dict):
        for k in ("root", "file"):
            if isinstance(node.get(k), str):
                out.append(node[k])
        for v in node.values():
            if isinstance(v, (list, dict)):
                _toc_files(v, out)
    elif isinstance(node, list):
        for v in node:
            _toc_files(v, out)


def discover_pages(config: BookConfig, patterns=None) -> list[Path]:
    """The book's ``.md`` pages (from ``_toc.yml``, else every .md), filtered by glob patterns."""
    import yaml

    root = config.root
    toc = root / "_toc.yml"
    if toc.is_file():
        files: list[str] = []
        _toc_files(yaml.safe_load(toc.read_text(encoding="utf-8")), files)
        paths = []
        for f in files:
            p = root / f
            p = p if p.suffix else p.with_suffix(".md")
            if p.suffix == ".md" and p.is_file():
                paths.append(p)
    else:
        paths = sorted(p for p in root.rglob("*.md")
                       if not any(part.startswith((".", "_")) for part in p.relative_to(root).parts[:-1]))
    if patterns:
        paths = [p for p in paths
                 if any(fnmatch.fnmatch(p.relative_to(root).as_posix(), pat) for pat in patterns)]
    return list(dict.fromkeys(paths))


def result_path(directory: Path, framework: str, docname: str) -> Path:
    return Path(directory) / framework / f"{docname}.ipynb"


# ------------------------------------------------------------------------------------- progress

class Progress:
    def __init__(self, total: int, stream=None, width: int = 0):
        self.total, self.done, self.stream, self.width = total, 0, stream or sys.stderr, width
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        self.running: dict[tuple[str, str], list] = {}  # -> [start time, cell, cells]

    def line(self, text: str, finished: bool = False) -> None:
        with self.lock:
            self.done += finished
            print(f"[{self.done:>3}/{self.total} {time.monotonic() - self.t0:7.1f}s] {text}",
                  file=self.stream, flush=True)

    def job(self, job: JobResult, text: str, finished: bool = False) -> None:
        self.line(f"{job.page:<{self.width}}  {job.framework:<10} {text}", finished)

    def heartbeat(self) -> None:
        now = time.monotonic()
        with self.lock:
            items = [f"{p} {fw} (cell {c}/{n}, {now - t:.0f}s)" for (p, fw), (t, c, n) in self.running.items()]
        if items:
            self.line("still running: " + "; ".join(items))


def format_table(summary: Summary, frameworks: list[str]) -> str:
    rows = {}
    for j in summary.jobs:
        cell = {"cached": "cached", "run": f"run {j.seconds:.1f}s", "failed": f"FAILED {j.seconds:.1f}s",
                "missing": "NO RESULT"}[j.status]
        rows.setdefault(j.page, {})[j.framework] = cell
    for page in summary.page_errors:
        rows[page] = {fw: "ERROR" for fw in frameworks}
    if not rows:
        return "no pages with code or framework markup"
    cols = [fw for fw in frameworks if any(fw in r for r in rows.values())]
    width = max(len(p) for p in rows) + 2
    lines = ["page".ljust(width) + "".join(fw.ljust(14) for fw in cols)]
    for page, r in rows.items():
        lines.append(page.ljust(width) + "".join(r.get(fw, "-").ljust(14) for fw in cols))
    lines.append(f"{summary.count('run')} run, {summary.count('cached')} cached, "
                 f"{summary.count('failed') + summary.count('missing')} failed, "
                 f"{len(summary.page_errors)} page error(s) in {summary.seconds:.1f} s")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------- build

def _result_notebook(nb, split: SplitNotebook, key: str, device: str):
    nb.metadata.tabbook = {"key": key, "source": split.page.rel, "source_sha256": split.page.sha256,
                           "framework": split.framework.name, "device": device}
    return nb


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def build(config: BookConfig, *, jobs: int = 2, frameworks=None, pages=None, out=None,
          run: bool = True, stream=None) -> Summary:
    """Execute what is not cached, then merge and export every complete page.

    ``frameworks``: only these (pages missing others are executed but not merged);
    ``out``: also write every (page, framework) result there (portable, for ``merge-results``);
    ``run=False``: execute nothing, a cache miss is a failure.
    """
    stream = stream or sys.stderr
    t0 = time.monotonic()
    summary = Summary()
    if frameworks:
        bad = [f for f in frameworks if f not in config.frameworks]
        if bad:
            raise ConfigError(f"--frameworks: unknown {', '.join(bad)} (book has {', '.join(config.frameworks)})")
    pin = resolve_pin(config)  # before executing: a bad --commit stops the build here
    if pin.warning:
        print(f"warning: {pin.warning}", file=stream, flush=True)
    if not config.baseurl:
        print("note: _config.yml sets no html.baseurl: the exported notebooks cannot link to the "
              "site (cross-references become plain text)", file=stream, flush=True)
    cache = Cache(config.build_dir / "cache")
    deps: dict[str, dict] = {}
    parsed: list[Page] = []
    todo: list[tuple[JobResult, SplitNotebook]] = []
    results: dict[tuple[str, str], nbformat.NotebookNode] = {}
    for path in discover_pages(config, pages):
        try:
            page = parse_page(path, config)
            if not has_tabbook_content(page):
                continue
            splits = split_page(page, config.frameworks)
            page_accelerator(page)  # front matter of the exported notebooks, checked up front
        except SourceError as e:
            summary.page_errors[path.relative_to(config.root).as_posix()] = e.format()
            print(e.format(), file=stream, flush=True)
            continue
        parsed.append(page)
        for name, split in splits.items():
            if frameworks and name not in frameworks:
                continue
            if name not in deps:
                deps[name] = deps_digests(config.frameworks[name], config.root)
            key = cache_key(split, deps[name], config.device)
            job = JobResult(page.rel, name, "cached", key=key)
            summary.jobs.append(job)
            nb = cache.get(key)
            if nb is not None:
                results[(page.rel, name)] = nb
            else:
                todo.append((job, split))

    progress = Progress(len(summary.jobs), stream, max((len(j.page) for j in summary.jobs), default=0))
    for job in summary.jobs:
        if (job.page, job.framework) in results:
            progress.job(job, "cached", finished=True)
    kernels_ok: dict[str, str] = {}
    for job, split in todo if run else ():
        fw = split.framework
        if fw.name not in kernels_ok:
            try:
                check_kernel(fw.kernel, fw.name)
                kernels_ok[fw.name] = ""
            except ConfigError as e:
                kernels_ok[fw.name] = str(e)
                print(f"error: {e}", file=stream, flush=True)

    def work(job: JobResult, split: SplitNotebook):
        key = (job.page, job.framework)
        start = time.monotonic()
        progress.running[key] = [start, 0, len(split.cells)]
        progress.job(job, f"run    ({len(split.cells)} cells)")

        def on_cell(i, n):
            progress.running[key][1:] = [i, n]
        try:
            nb = _result_notebook(execute(split, on_cell, threads), split, job.key, config.device)
            cache.put(job.key, nb)
            results[key] = nb
            job.status = "run"
        except SourceError as e:
            job.status, job.error = "failed", e.format()
        finally:
            progress.running.pop(key, None)
            job.seconds = time.monotonic() - start
        if job.status == "run":
            progress.job(job, f"done   {job.seconds:.1f}s", finished=True)
        else:
            progress.job(job, f"FAILED {job.seconds:.1f}s\n{job.error}", finished=True)

    runnable = []
    for job, split in todo:
        if not run:
            job.status, job.error = "missing", f"{job.page} [{job.framework}]: no executed result"
            progress.job(job, "NO RESULT (execution off)", finished=True)
        elif kernels_ok[job.framework]:
            job.status, job.error = "failed", kernels_ok[job.framework]
            progress.job(job, "FAILED (kernel missing)", finished=True)
        else:
            runnable.append((job, split))
    # Kernels running side by side share the CPUs: each framework gets its share of threads.
    threads = max(1, _cpu_count() // max(1, min(jobs, len(runnable))))
    if runnable:
        progress.line(f"executing {len(runnable)} notebook{'s' * (len(runnable) != 1)}, "
                      f"{min(jobs, len(runnable))} at a time, "
                      f"{os.environ.get('D2L_NUM_THREADS') or threads} CPU threads each")
        with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="tabbook") as pool:
            pending = {pool.submit(work, job, split) for job, split in runnable}
            while pending:
                done, pending = wait(pending, timeout=HEARTBEAT_S, return_when=FIRST_COMPLETED)
                for f in done:
                    f.result()
                if not done:
                    progress.heartbeat()

    _finish(config, parsed, results, summary, frameworks, out, pin, stream)
    summary.seconds = time.monotonic() - t0
    write_atomic(config.build_dir / "summary.json", json.dumps(
        {"seconds": round(summary.seconds, 2), "ok": summary.ok, "jobs": [asdict(j) for j in summary.jobs],
         "commit": pin.commit, "install_ref": pin.ref,
         "page_errors": summary.page_errors, "merged": summary.merged, "incomplete": summary.incomplete},
        indent=1))
    print(format_table(summary, list(config.frameworks)), file=stream, flush=True)
    return summary


def _finish(config, parsed, results, summary: Summary, frameworks, out, pin, stream) -> None:
    """Merge and export complete pages; write the sha index and the portable results.

    Exports are written on every build (from cached results too), so the install cells always
    name ``pin`` (this build's commit), which is no part of any cache key."""
    merged_dir = config.build_dir / "merged"
    index_path = merged_dir / "index.json"
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        index = {}
    site = site_for(config, discover_pages(config))  # labels of every page, for the links
    warned: set[str] = set()

    def warn(message: str) -> None:
        if message not in warned:
            warned.add(message)
            print(f"warning: {message}", file=stream, flush=True)
    for message in site.index.duplicates:
        warn(f"{message}: notebooks link to the first")
    for page in parsed:
        if out:
            for fw in page.frameworks:
                nb = results.get((page.rel, fw))
                if nb is not None:
                    nb.metadata.tabbook["source_sha256"] = page.sha256
                    write_atomic(result_path(out, fw, page.docname), nbformat.writes(nb))
        if not all((page.rel, fw) in results for fw in page.frameworks):
            if frameworks and not any(j.page == page.rel and j.status in ("failed", "missing")
                                      for j in summary.jobs):
                summary.incomplete.append(page.rel)
            continue
        executed = {fw: results[(page.rel, fw)] for fw in page.frameworks}
        write_atomic(merged_dir / f"{page.docname}.ipynb", nbformat.writes(merge(page, executed)))
        for fw in page.frameworks:
            nb = export(page, config.frameworks[fw], executed[fw], config, site=site, ref=pin.ref, warn=warn)
            write_atomic(config.build_dir / "notebooks" / fw / f"{page.docname}.ipynb", nbformat.writes(nb))
        index = {sha: doc for sha, doc in index.items() if doc != page.docname}
        index[page.sha256] = page.docname
        summary.merged.append(page.rel)
    write_atomic(index_path, json.dumps(index, indent=1, sort_keys=True))
