"""End-to-end engine runs on the fixture book with two real framework kernels (d2l-pytorch,
d2l-jax). One cold build is shared; each test works on its own copy, cache included."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from tabbook.config import load_config
from tabbook.merge import contract_violations
from tabbook.parse import parse_page
from tabbook.parse import source_sha256
from enginelib import REPO, copy_book, layout, line_of, run_tabbook


def _statuses(root: Path) -> dict:
    summary = json.loads(layout(root).summary.read_text())
    return {(j["page"], j["framework"]): j["status"] for j in summary["jobs"]}


def _merged(root: Path, doc: str):
    return nbformat.read(layout(root).merged(doc), as_version=4)


def _printed(nb) -> list[str]:
    return [o["text"] for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "stream"]


ALL = {("chapters/basics.md", "pytorch"), ("chapters/basics.md", "jax"),
       ("chapters/plot.md", "pytorch"), ("chapters/plot.md", "jax")}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = copy_book(tmp_path_factory.mktemp("cold") / "book")
    env = {k: v for k, v in os.environ.items() if k != "D2L_NUM_THREADS"}
    r = run_tabbook(root, "execute", "--jobs", "2", env=env)
    assert r.returncode == 0, r.stderr
    assert _statuses(root) == {k: "run" for k in ALL}
    (root / "cold-build.log").write_text(r.stderr)
    return root


@pytest.fixture
def book(built, tmp_path):
    return Path(shutil.copytree(built, tmp_path / "book"))


def test_cold_build_outputs(built):
    basics = _merged(built, "chapters/basics")
    outs = {c.metadata["tabbook"].get("framework", "shared"): c.outputs for c in basics.cells
            if c.cell_type == "code" and c.outputs}
    assert outs["pytorch"][0]["text"] == "torch 3\n" and outs["jax"][0]["text"] == "jax 3\n"
    assert outs["shared"][0]["text"] == "6\n"
    plot = _merged(built, "chapters/plot")
    assert any("image/png" in o.get("data", {}) for c in plot.cells for o in c.get("outputs", []))
    # the hidden setup cell is in no output
    for fw in ("pytorch", "jax"):
        nb = nbformat.read(layout(built).notebook(fw, "chapters/basics"), as_version=4)
        text = nbformat.writes(nb)
        assert "load_ext" not in text and "%%tab" not in text
        assert nb.metadata.kernelspec["name"] == f"d2l-{fw}"
    index = json.loads(layout(built).index.read_text())
    assert sorted(index.values()) == ["chapters/basics", "chapters/plot"]


def test_kernels_side_by_side_share_the_cpus(built):
    threads = max(1, len(os.sched_getaffinity(0)) // 2)
    log = (built / "cold-build.log").read_text()
    assert f"executing 4 notebooks, 2 at a time, {threads} CPU threads each" in log
    from tabbook.execute import kernel_env
    assert kernel_env("jax", 3, "D2L_NUM_THREADS")["D2L_NUM_THREADS"] == "3"
    os.environ["D2L_NUM_THREADS"] = "5"
    try:  # the count the build gives wins over one in its own environment
        assert kernel_env("jax", 3, "D2L_NUM_THREADS")["D2L_NUM_THREADS"] == "3"
    finally:
        del os.environ["D2L_NUM_THREADS"]


def test_noop_and_prose_edit_execute_nothing(book):
    r = run_tabbook(book, "execute")
    assert r.returncode == 0 and _statuses(book) == {k: "cached" for k in ALL}
    page = book / "chapters/basics.md"
    page.write_text(page.read_text().replace("Shared prose.", "Edited prose."))
    r = run_tabbook(book, "execute")
    assert r.returncode == 0 and _statuses(book) == {k: "cached" for k in ALL}, r.stderr
    merged = _merged(book, "chapters/basics")
    assert "Edited prose." in merged.cells[0].source
    assert merged.metadata.tabbook["source_sha256"] == source_sha256(page.read_text())


def _code_cells(nb):
    return [(c.source, _printed_of(c)) for c in nb.cells if c.cell_type == "code"]


def _printed_of(cell):
    return [o.get("text") for o in cell.get("outputs", [])]


def test_markdown_cells_added_between_code_cells_keep_every_output_in_place(book):
    """Prose that becomes new markdown cells re-executes nothing, and moves the page cells after
    it: each cached output stays with its cell, in the merge and in every exported notebook."""
    before = {fw: _code_cells(nbformat.read(layout(book).notebook(fw, "chapters/basics"), as_version=4))
              for fw in ("pytorch", "jax")}
    page = book / "chapters/basics.md"
    text = page.read_text()
    assert text.count("```{code-cell} ipython3\n%%tab pytorch") == 1
    text = text.replace("```{code-cell} ipython3\n%%tab pytorch",
                        "A paragraph of its own.\n\n```{fw-block} pytorch\nA note for PyTorch.\n```\n\n"
                        "```{code-cell} ipython3\n%%tab pytorch")
    page.write_text(text)
    r = run_tabbook(book, "execute")
    assert r.returncode == 0 and _statuses(book) == {k: "cached" for k in ALL}, r.stderr
    for fw in ("pytorch", "jax"):
        nb = nbformat.read(layout(book).notebook(fw, "chapters/basics"), as_version=4)
        assert _code_cells(nb)[1:] == before[fw][1:], fw  # [0] is the install cell
        assert any("A paragraph of its own." in c.source for c in nb.cells if c.cell_type == "markdown")
    merged = _merged(book, "chapters/basics")
    assert not contract_violations(merged)
    parsed = parse_page(page, load_config(book))
    code = [c for c in merged.cells if c.cell_type == "code"]
    assert len({c.metadata.tabbook["source_cell"] for c in code}) == len(parsed.code_cells)
    for c in code:  # each cell's code comes from the page cell it names, as the page is now
        assert c.source.split("\n")[0] in parsed.cells[c.metadata.tabbook["source_cell"]].source, c.source
    assert _printed_of(code[0]) == ["6\n"] and code[0].metadata.tabbook.get("shared")
    last = [c for c in code if "print(name" in c.source]
    assert [(_printed_of(c), c.metadata.tabbook["framework"]) for c in last] == \
        [(["torch 3\n"], "pytorch"), (["jax 3\n"], "jax")]


def test_one_cell_edit_runs_only_that_page_and_framework(book):
    page = book / "chapters/basics.md"
    page.write_text(page.read_text().replace("x = jnp.arange(3)", "x = jnp.arange(4)"))
    r = run_tabbook(book, "execute")
    assert r.returncode == 0, r.stderr
    expected = {k: "cached" for k in ALL} | {("chapters/basics.md", "jax"): "run"}
    assert _statuses(book) == expected
    assert "jax 6\n" in _printed(_merged(book, "chapters/basics"))


def test_failing_cell_reports_and_rerun_executes_only_it(book):
    page = book / "chapters/basics.md"
    original = page.read_text()
    page.write_text(original.replace("x = torch.arange(3)", "x = torch.arange(3)\nraise ValueError('boom 42')"))
    r = run_tabbook(book, "execute")
    assert r.returncode == 1
    line = line_of(page, "raise ValueError('boom 42')")  # the failing statement's line
    assert f"chapters/basics.md:{line}: [pytorch] cell raised ValueError" in r.stderr
    assert "    import torch\n    x = torch.arange(3)" in r.stderr  # the cell's first lines
    assert "boom 42" in r.stderr and "Traceback" in r.stderr
    assert f"chapters/basics.md:{line}\n" in r.stderr  # the traceback names page lines
    assert "Cell In[" not in r.stderr
    statuses = _statuses(book)
    assert statuses[("chapters/basics.md", "pytorch")] == "failed"
    assert {k: v for k, v in statuses.items() if k[1] != "pytorch" or k[0] != "chapters/basics.md"} == \
        {k: "cached" for k in ALL - {("chapters/basics.md", "pytorch")}}
    assert "FAILED" in r.stderr  # summary table
    page.write_text(original.replace("x = torch.arange(3)", "x = torch.arange(5)"))
    r = run_tabbook(book, "execute")
    assert r.returncode == 0, r.stderr
    assert _statuses(book) == {k: "cached" for k in ALL} | {("chapters/basics.md", "pytorch"): "run"}
    assert "torch 10\n" in _printed(_merged(book, "chapters/basics"))


def test_missing_kernel_says_how_to_create_it(book):
    cfg = book / "_config.yml"
    cfg.write_text(cfg.read_text().replace("kernel: d2l-jax", "kernel: d2l-nonexistent"))
    r = run_tabbook(book, "execute")
    assert r.returncode == 1
    assert "d2l-nonexistent" in r.stderr and "run `make envs` (it registers the d2l-nonexistent kernel)" in r.stderr
    assert {k for k, v in _statuses(book).items() if v == "failed"} == {k for k in ALL if k[1] == "jax"}


def test_malformed_markup_fails_that_page_only(book):
    page = book / "chapters/plot.md"
    page.write_text(page.read_text() + "\n````{fw-block} jax\nnever closed\n")
    r = run_tabbook(book, "execute")
    assert r.returncode == 1
    assert f"chapters/plot.md:{line_of(page, '````{fw-block} jax')}: unclosed fw-block" in r.stderr
    assert _statuses(book) == {k: "cached" for k in ALL if k[0] == "chapters/basics.md"}


def _kernels_of(pid: int) -> list[int]:
    """Processes whose environment says they are kernels of build ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"TABBOOK_BUILD_PID={pid}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def test_killed_build_resumes_with_cached_results(built, tmp_path):
    root = copy_book(tmp_path / "book")  # no cache
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "tabbook", "execute", "--jobs", "1", "--pages",
                             "chapters/basics.md"], cwd=root, env=env, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:  # wait for the first executed result, then kill -9 mid-build
        lines.append(line)
        if " done " in line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    while _kernels_of(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _kernels_of(proc.pid) == [], "kernels outlived the killed build"
    r = run_tabbook(root, "execute", "--pages", "chapters/basics.md")
    assert r.returncode == 0, r.stderr
    page, fw = next(l for l in lines if " done " in l).split("]", 1)[1].split()[:2]
    other = ({"pytorch", "jax"} - {fw}).pop()
    assert _statuses(root) == {(page, fw): "cached", (page, other): "run"}


def test_results_merge_on_another_machine_and_stale_ones_are_refused(book, tmp_path):
    results = tmp_path / "results"
    r = run_tabbook(book, "execute", "--frameworks", "jax", "--out", str(results))
    assert r.returncode == 0, r.stderr
    r = run_tabbook(book, "execute", "--frameworks", "pytorch", "--out", str(results))
    assert r.returncode == 0, r.stderr
    assert sorted(p.relative_to(results).as_posix() for p in results.rglob("*.ipynb")) == [
        "jax/chapters/basics.ipynb", "jax/chapters/plot.ipynb",
        "pytorch/chapters/basics.ipynb", "pytorch/chapters/plot.ipynb"]
    assert str(book) not in "".join(p.read_text() for p in results.rglob("*.ipynb"))
    other = copy_book(tmp_path / "elsewhere")  # fresh checkout: no cache
    moved = Path(shutil.move(str(results), tmp_path / "moved"))
    r = run_tabbook(other, "merge-results", str(moved), "--no-html")
    assert r.returncode == 0, r.stderr
    assert _statuses(other) == {k: "cached" for k in ALL}
    assert _merged(other, "chapters/basics").cells == _merged(book, "chapters/basics").cells
    # Results of one device's environments are not merged as another's.
    r = run_tabbook(copy_book(tmp_path / "gpu-merge"), "merge-results", "--device", "gpu", str(moved), "--no-html")
    assert r.returncode == 1
    assert "executed with the cpu environments; this merge is for gpu (pass --device cpu)" in r.stderr
    page = other / "chapters/plot.md"
    page.write_text(page.read_text().replace("# A plot", "# A plot, edited"))
    r = run_tabbook(other, "merge-results", str(moved), "--no-html")
    assert r.returncode == 1
    assert "stale result: chapters/plot.md was edited" in r.stderr


def test_results_are_cached_per_device(book):
    # A build with the GPU environments (make DEVICE=gpu) does not reuse, or replace, CPU results.
    r = run_tabbook(book, "execute", "--device", "gpu", "--pages", "chapters/basics.md")
    assert r.returncode == 0, r.stderr
    statuses = _statuses(book)
    assert statuses == {k: "run" for k in ALL if k[0] == "chapters/basics.md"}
    r = run_tabbook(book, "execute")
    assert r.returncode == 0, r.stderr
    assert _statuses(book) == {k: "cached" for k in ALL}


def test_syntax_error_found_before_any_kernel_once_at_the_page_line(book):
    page = book / "chapters/basics.md"
    page.write_text(page.read_text().replace("print(name, int(x.sum()))", "  print(name, int(x.sum()))"))
    r = run_tabbook(book, "execute")
    assert r.returncode == 1
    line = line_of(page, "  print(name, int(x.sum()))")
    assert f"chapters/basics.md:{line}: [pytorch, jax] IndentationError" in r.stderr
    assert r.stderr.count("IndentationError") == 1
    assert " run " not in r.stderr and "executing" not in r.stderr  # no kernel started
    assert {k for k in _statuses(book)} == {k for k in ALL if k[0] == "chapters/plot.md"}


def test_html_pages_executes_and_builds_only_from_those_pages(book):
    page = book / "chapters/basics.md"
    page.write_text(page.read_text().replace("x = jnp.arange(3)", "x = jnp.arange(4)"))
    r = run_tabbook(book, "html", "--strict", "--pages", "chapters/basics.md", timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert _statuses(book) == {("chapters/basics.md", "pytorch"): "cached", ("chapters/basics.md", "jax"): "run"}
    assert "--warningiserror" in r.stderr  # STRICT goes with it
    html = (book / "_build/html/chapters/basics.html").read_text()
    assert "jax 6" in html
    assert (book / "_build/html/chapters/plot.html").is_file()  # from the earlier build's results
    r = run_tabbook(book, "html", "--pages", "chapters/basic.md")
    assert r.returncode == 2 and "did you mean chapters/basics.md" in r.stderr
