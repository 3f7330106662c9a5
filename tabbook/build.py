"""Orchestration: plan (:mod:`.plan`: discover, parse, split, key) -> execute (cached, parallel)
-> publish (merge, export, manifest), with progress. Paths: :class:`.layout.Layout`."""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from .cache import Cache, write_atomic
from .config import BookConfig, ConfigError
from .execute import check_kernel, execute
from .export import Pin, export, resolve_pin, site_for
from .layout import Layout
from .markup import unknown_names_message
from .merge import merge
from .parse import SourceError
from .plan import Plan, check_patterns, discover_pages, make_plan
from .split import SplitNotebook

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


def result_path(directory: Path, framework: str, docname: str) -> Path:
    return Layout.result(directory, framework, docname)


# ------------------------------------------------------------------------------------- progress

class Progress:
    """The build's console lines and the table of running notebooks. Worker threads change the
    table and the heartbeat reads it: every access holds ``lock``."""

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

    def started(self, key: tuple[str, str], cells: int) -> None:
        with self.lock:
            self.running[key] = [time.monotonic(), 0, cells]

    def at_cell(self, key: tuple[str, str], cell: int, cells: int) -> None:
        with self.lock:
            if key in self.running:
                self.running[key][1:] = [cell, cells]

    def stopped(self, key: tuple[str, str]) -> None:
        with self.lock:
            self.running.pop(key, None)

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
    """Plan, execute what is not cached, then publish (merge and export) every complete page.

    ``frameworks``: only these (pages missing others are executed but not merged);
    ``pages``: only pages matching these globs are planned and executed (the manifest keeps
    the other pages' entries of earlier builds);
    ``out``: also write every (page, framework) result there (portable, for ``merge-results``);
    ``run=False``: execute nothing, a cache miss is a failure.
    """
    stream = stream or sys.stderr
    t0 = time.monotonic()
    _check_frameworks(config, frameworks)
    check_patterns(config, pages)
    pin = _announce(config, stream)  # before executing: a bad --commit stops the build here
    plan = make_plan(config, pages)
    summary = Summary(page_errors=dict(plan.errors))
    for error in plan.errors.values():
        print(error, file=stream, flush=True)
    results, todo = _lookup(config, plan, frameworks, summary)
    progress = Progress(len(summary.jobs), stream, max((len(j.page) for j in summary.jobs), default=0))
    for job in summary.jobs:
        if (job.page, job.framework) in results:
            progress.job(job, "cached", finished=True)
    _execute(config, todo, results, progress, jobs=jobs, run=run, stream=stream)
    publish(config, plan, results, summary, frameworks, out, pin, stream)
    summary.seconds = time.monotonic() - t0
    write_atomic(Layout.of(config).summary, json.dumps(
        {"seconds": round(summary.seconds, 2), "ok": summary.ok, "jobs": [asdict(j) for j in summary.jobs],
         "commit": pin.commit, "install_ref": pin.ref,
         "page_errors": summary.page_errors, "merged": summary.merged, "incomplete": summary.incomplete},
        indent=1))
    print(format_table(summary, list(config.frameworks)), file=stream, flush=True)
    return summary


def _check_frameworks(config: BookConfig, frameworks) -> None:
    bad = [f for f in frameworks or () if f not in config.frameworks]
    if bad:
        raise ConfigError(unknown_names_message("--frameworks", bad, list(config.frameworks)))


def _announce(config: BookConfig, stream) -> Pin:
    pin = resolve_pin(config)
    if pin.warning:
        print(f"warning: {pin.warning}", file=stream, flush=True)
    if not config.baseurl:
        print("note: _config.yml sets no html.baseurl: the exported notebooks cannot link to the "
              "site (cross-references become plain text)", file=stream, flush=True)
    return pin


def _lookup(config: BookConfig, plan: Plan, frameworks, summary: Summary):
    """A job per planned (page, framework); the cached results, and what is left to run."""
    cache = Cache(Layout.of(config).cache)
    results: dict[tuple[str, str], nbformat.NotebookNode] = {}
    todo: list[tuple[JobResult, SplitNotebook]] = []
    for pp in plan.pages:
        for name, split in pp.splits.items():
            if frameworks and name not in frameworks:
                continue
            job = JobResult(pp.page.rel, name, "cached", key=pp.keys[name])
            summary.jobs.append(job)
            nb = _as_of(cache.get(job.key), split)
            if nb is not None:
                results[(pp.page.rel, name)] = nb
            else:
                todo.append((job, split))
    return results, todo


def _as_of(nb, split: SplitNotebook):
    """A cached result for the page as it is now: each cell pointed at the page cell it comes from
    today. The key holds the cells' code and tags in order, not their places in the page, so
    markdown cells added or removed between them (no re-execution) move them; without this the
    merge and the export would pair outputs with the wrong page cells, or drop cells. None (a miss)
    for a result whose cells do not line up with the split's."""
    if nb is None or len(nb.cells) != len(split.cells):
        return None
    for ran, cell in zip(nb.cells, split.cells):
        if ran.source != cell.code:
            return None
        ran.metadata.setdefault("tabbook", {})["source_cell"] = cell.source_cell
    nb.metadata.tabbook["source_sha256"] = split.page.sha256
    return nb


def _kernel_problems(config: BookConfig, todo, stream) -> dict[str, str]:
    """framework -> why its kernel cannot run ("" when it can), for the frameworks of ``todo``."""
    problems: dict[str, str] = {}
    for _job, split in todo:
        fw = split.framework
        if fw.name not in problems:
            try:
                kernel_hint = getattr(config, "kernel_hint", None)  # the book's fix, if it has one
                if kernel_hint is not None:
                    check_kernel(fw.kernel, fw.name, kernel_hint(fw.kernel))
                else:
                    check_kernel(fw.kernel, fw.name)
                problems[fw.name] = ""
            except ConfigError as e:
                problems[fw.name] = str(e)
                print(f"error: {e}", file=stream, flush=True)
    return problems


def _execute(config: BookConfig, todo, results, progress: Progress, *, jobs: int, run: bool, stream) -> None:
    """Run the notebooks of ``todo`` (``jobs`` at a time), caching each result."""
    cache = Cache(Layout.of(config).cache)
    problems = _kernel_problems(config, todo, stream) if run else {}
    runnable = []
    for job, split in todo:
        if not run:
            job.status, job.error = "missing", f"{job.page} [{job.framework}]: no executed result"
            progress.job(job, "NO RESULT (execution off)", finished=True)
        elif problems[job.framework]:
            job.status, job.error = "failed", problems[job.framework]
            progress.job(job, "FAILED (kernel missing)", finished=True)
        else:
            runnable.append((job, split))
    if not runnable:
        return
    # Kernels running side by side share the CPUs: a framework whose thread count is `auto`
    # gets its share (a fixed count from _config.yml wins, see tabbook.execute.kernel_env).
    at_once = min(jobs, len(runnable))
    logs = Layout.of(config).logs
    threads = max(1, _cpu_count() // max(1, at_once))

    def work(job: JobResult, split: SplitNotebook) -> None:
        key = (job.page, job.framework)
        start = time.monotonic()
        progress.started(key, len(split.cells))
        progress.job(job, f"run    ({len(split.cells)} cells)")
        try:
            nb = execute(split, lambda i, n: progress.at_cell(key, i, n), threads, log_dir=logs)
            nb = _result_notebook(nb, split, job.key, config.device)
            cache.put(job.key, nb)
            results[key] = nb
            job.status = "run"
        except SourceError as e:
            job.status, job.error = "failed", e.format()
        finally:
            progress.stopped(key)
            job.seconds = time.monotonic() - start
        if job.status == "run":
            progress.job(job, f"done   {job.seconds:.1f}s", finished=True)
        else:
            progress.job(job, f"FAILED {job.seconds:.1f}s\n{job.error}", finished=True)

    counts = sorted({getattr(split.framework, "threads", None) or threads for _job, split in runnable})
    progress.line(f"executing {len(runnable)} notebook{'s' * (len(runnable) != 1)}, {at_once} at a time, "
                  f"{'/'.join(map(str, counts))} CPU threads each")
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="tabbook") as pool:
        pending = {pool.submit(work, job, split) for job, split in runnable}
        while pending:
            done, pending = wait(pending, timeout=HEARTBEAT_S, return_when=FIRST_COMPLETED)
            for f in done:
                f.result()
            if not done:
                progress.heartbeat()


# -------------------------------------------------------------------------------- publish

def publish(config, plan: Plan, results, summary: Summary, frameworks, out, pin, stream) -> None:
    """Merge and export complete pages; write the manifest, the sha index and the portable results.

    Exports are written on every build (from cached results too), so the install cells always
    name ``pin`` (this build's commit), which is no part of any cache key."""
    layout = Layout.of(config)
    try:
        index = json.loads(layout.index.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        index = {}
    manifest = layout.read_manifest()
    if not plan.partial:  # pages that left the book leave the manifest
        planned = {rel.rsplit(".", 1)[0] for rel in [*plan.plain, *plan.errors]} | {
            pp.page.docname for pp in plan.pages}
        manifest = {doc: entry for doc, entry in manifest.items() if doc in planned}
    site = site_for(config, discover_pages(config))  # labels of every page, for the links
    warned: set[str] = set()

    def warn(message: str) -> None:
        if message not in warned:
            warned.add(message)
            print(f"warning: {message}", file=stream, flush=True)
    for message in site.index.duplicates:
        warn(f"{message}: notebooks link to the first")
    for rel, page in plan.plain.items():
        manifest[page.docname] = {"source": rel, "sha256": page.sha256, "frameworks": [], "notebook": None}
    for rel in plan.errors:
        manifest.pop(rel.rsplit(".", 1)[0], None)  # the reader then says it was not executed
    for pp in plan.pages:
        page = pp.page
        manifest.pop(page.docname, None)
        if out:
            for fw in page.frameworks:
                nb = results.get((page.rel, fw))
                if nb is not None:
                    nb.metadata.tabbook["source_sha256"] = page.sha256
                    write_atomic(layout.result(out, fw, page.docname), nbformat.writes(nb))
        if not all((page.rel, fw) in results for fw in page.frameworks):
            if frameworks and not any(j.page == page.rel and j.status in ("failed", "missing")
                                      for j in summary.jobs):
                summary.incomplete.append(page.rel)
            continue
        executed = {fw: results[(page.rel, fw)] for fw in page.frameworks}
        merged_path = layout.merged(page.docname)
        write_atomic(merged_path, nbformat.writes(merge(page, executed)))
        for fw in page.frameworks:
            nb = export(page, config.frameworks[fw], executed[fw], config, site=site, ref=pin.ref, warn=warn)
            write_atomic(layout.notebook(fw, page.docname), nbformat.writes(nb))
        index = {sha: doc for sha, doc in index.items() if doc != page.docname}
        index[page.sha256] = page.docname
        manifest[page.docname] = {"source": page.rel, "sha256": page.sha256,
                                  "frameworks": list(page.frameworks),
                                  "notebook": merged_path.relative_to(layout.root).as_posix()}
        summary.merged.append(page.rel)
    write_atomic(layout.index, json.dumps(index, indent=1, sort_keys=True))
    write_atomic(layout.manifest, layout.manifest_text(manifest))
