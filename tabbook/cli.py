"""``python -m tabbook execute | html | merge-results`` (run from the book root)."""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import nbformat

from .build import build
from .cache import Cache
from .config import ConfigError, load_config
from .layout import Layout
from .markup import split_names
from .parse import SourceError, source_sha256
from .plan import discover_pages, make_plan


def _interrupted(signum, frame):
    # The cache is written atomically and kernels exit with the build (TABBOOK_BUILD_PID).
    print(f"\ninterrupted ({signal.Signals(signum).name}); cached results are kept", file=sys.stderr, flush=True)
    os._exit(128 + signum)


def cmd_execute(args, config) -> int:
    fws = split_names(args.frameworks) if args.frameworks else None
    summary = build(config, jobs=args.jobs, frameworks=fws, pages=args.pages,
                    out=Path(args.out).resolve() if args.out else None)
    if summary.incomplete:
        print(f"not merged (frameworks left out by --frameworks): {', '.join(summary.incomplete)}",
              file=sys.stderr)
    return 0 if summary.ok else 1


def sphinx_build(config, strict: bool) -> int:
    """Build the site with jupyter-book; end with the short ``file:line`` list of the pages'
    warnings (tabbook.sphinx.warnings keeps them, per page, until the pages are fixed)."""
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(config.root), "--builder", "html"]
    if strict:
        # --all: re-read every page, so warnings of pages unchanged since a lenient build count.
        cmd += ["--all", "--warningiserror", "--nitpick", "--keep-going"]
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    rc = subprocess.call(cmd)
    from .sphinx.warnings import listing, store_path
    found = listing(config.build_dir)
    if found:
        head = (f"strict build failed: {len(found)} warning{'s' * (len(found) != 1)}" if strict and rc
                else f"{len(found)} warning{'s' * (len(found) != 1)}, repeated on every build until fixed")
        print(f"\n{head} (kept in {store_path(config.build_dir)}):\n" + "\n".join("  " + w for w in found),
              file=sys.stderr, flush=True)
    return rc


def cmd_html(args, config) -> int:
    summary = build(config, jobs=args.jobs, pages=args.pages)
    if not summary.ok:
        print("execution failed: not building the site", file=sys.stderr)
        return 1
    return sphinx_build(config, args.strict)


def import_results(config, directories) -> list[str]:
    """Check the results in ``directories`` against the current sources and put them in the cache.

    The pages are planned as ``build()`` plans them (:func:`tabbook.plan.make_plan`): a result is
    accepted when its cache key is the key this checkout gives its (page, framework). Returns the
    errors (stale or mismatched results); nothing is imported when there are any.
    """
    layout = Layout.of(config)
    plan = make_plan(config, compile_check=False)
    pages = {p.relative_to(config.root).as_posix(): p for p in discover_pages(config)}
    errors, accepted = [], []
    for d in map(Path, directories):
        files = sorted(d.rglob("*.ipynb"))
        if not files:
            errors.append(f"{d}: no executed results in it (make them with `execute --out {d}`)")
        for f in files:
            try:
                nb = nbformat.read(f, as_version=4)
                meta = nb.metadata["tabbook"]
                rel, fw, sha, key = meta["source"], meta["framework"], meta["source_sha256"], meta["key"]
            except (OSError, ValueError, KeyError) as e:
                errors.append(f"{f}: not a tabbook result ({e})")
                continue
            if rel not in pages:
                errors.append(f"{f}: its page {rel} is not in this book")
                continue
            if source_sha256(pages[rel].read_text(encoding="utf-8")) != sha:
                errors.append(f"{f}: stale result: {rel} was edited after it was executed; "
                              f"re-run `python -m tabbook execute` for it")
                continue
            if fw not in config.frameworks:
                errors.append(f"{f}: unknown framework {fw}")
                continue
            if rel in plan.errors:
                errors.append(f"{f}: its page has errors:\n{plan.errors[rel]}")
                continue
            pp = plan.page(rel)
            made_on = meta.get("device", "cpu")
            if made_on != config.device:
                errors.append(f"{f}: result for {rel} [{fw}] was executed with the {made_on} "
                              f"environments; this merge is for {config.device} (pass --device {made_on})")
                continue
            if pp is None or pp.keys.get(fw) != key:
                errors.append(f"{f}: result for {rel} [{fw}] was made with other code, kernel or deps "
                              f"({', '.join(config.frameworks[fw].deps) or 'no deps'}) than this checkout")
                continue
            expected = layout.result(d, fw, rel.rsplit(".", 1)[0])
            if f != expected:
                errors.append(f"{f}: misplaced result (expected {expected})")
                continue
            accepted.append((key, nb))
    if not errors:
        cache = Cache(layout.cache)
        for key, nb in accepted:
            cache.put(key, nb)
    return errors


def cmd_merge_results(args, config) -> int:
    errors = import_results(config, args.directories)
    if errors:
        print("merge-results: refused:\n" + "\n".join("  " + e for e in errors), file=sys.stderr)
        return 1
    summary = build(config, run=False)
    if not summary.ok:
        print("merge-results: some pages have no result in the given directories", file=sys.stderr)
        return 1
    return 0 if args.no_html else sphinx_build(config, args.strict)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tabbook", description=__doc__)
    ap.add_argument("--root", default=".", help="book root (holds _config.yml); default: .")
    sub = ap.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="execute the pages (cached), merge and export notebooks")
    ex.add_argument("--jobs", type=int, default=2, help="kernels run in parallel (default 2)")
    ex.add_argument("--frameworks", help="only these frameworks, e.g. pytorch,jax")
    ex.add_argument("--pages", nargs="+", help="only pages matching these globs (relative to the root)")
    ex.add_argument("--out", help="also write the executed results here, for merge-results")
    ht = sub.add_parser("html", help="execute, then build the HTML site into _build/html")
    ht.add_argument("--jobs", type=int, default=2)
    ht.add_argument("--pages", nargs="+",
                    help="execute only pages matching these globs; the site is built from them and "
                         "the other pages' results of earlier builds")
    ht.add_argument("--strict", action="store_true", help="warnings are errors, nitpicky, keep going")
    mr = sub.add_parser("merge-results", help="import results executed elsewhere, then build the site")
    mr.add_argument("directories", nargs="+")
    mr.add_argument("--strict", action="store_true")
    mr.add_argument("--no-html", action="store_true", help="merge and export only")
    for p in (ex, ht, mr):
        p.add_argument("--commit", default="",
                       help="the commit (40 hex digits) the notebooks' install cell names (default: "
                            "$TABBOOK_COMMIT, else $GITHUB_SHA, else git rev-parse HEAD)")
        p.add_argument("--device", default=os.environ.get("TABBOOK_DEVICE") or "cpu",
                       help="which framework environments execute (cpu, or gpu for the GPU ones); "
                            "results are cached per device (default: $TABBOOK_DEVICE, else cpu)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    try:
        config = load_config(args.root)
        config.device = args.device
        config.commit = args.commit
        return {"execute": cmd_execute, "html": cmd_html, "merge-results": cmd_merge_results}[args.command](
            args, config)
    except (ConfigError, SourceError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
