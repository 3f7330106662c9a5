"""Readers' path, as Colab runs it: every exported notebook (`_build/html/_notebooks/<fw>/`) runs
top to bottom in a fresh Python 3.12 environment holding only what Colab preinstalls
(tools/colab_like.py), and its own install cell, as written, installs d2l_support from a local git
copy of this working tree (only the repository URL is changed).

Run with the book environment's pytest after the book is built (`make test-readers`). The
section's concise-RNN page runs in `make test` for every framework; the other pages are `slow`.
"""
import concurrent.futures
import os
from pathlib import Path

import pytest

from readerslib import FRAMEWORKS, NOTEBOOKS, colab_like, fit_records, pages

QUICK = "rnn-concise"  # a training page: 100-epoch fit, then the overfitting exercise
PAGES = pages() or [QUICK]  # before a build, the quick page (its test then says what is missing)


@pytest.fixture(scope="session")
def local_repo(tmp_path_factory):
    """(path, HEAD) of a fresh git repository holding this working tree's d2l_support."""
    return colab_like.make_local_repo(tmp_path_factory.mktemp("colab-like") / "repo")


@pytest.fixture(scope="session")
def colab_env():
    made = {}

    def get(framework):
        if framework not in made:
            made[framework] = colab_like.ColabEnv(framework)
            made[framework].ensure()
        return made[framework]
    return get


# Frameworks whose notebooks run at once (each framework's one after another: one environment runs
# one notebook at a time); each kernel gets its share of the CPUs unless D2L_NUM_THREADS says.
JOBS = 2
TEST = "test_exported_notebook_runs_as_in_colab"


@pytest.fixture(scope="session")
def colab_runs(request, local_repo, colab_env, tmp_path_factory):
    """Starts the Colab-like runs of every selected notebook, JOBS frameworks at a time; gives
    run(framework, page) -> Result, which waits for that notebook."""
    cases: dict[str, list[str]] = {}
    for item in request.session.items:  # the selected tests only
        if getattr(item, "originalname", None) == TEST:
            cases.setdefault(item.callspec.params["framework"], []).append(item.callspec.params["page"])
    repo, head = local_repo
    workdir = tmp_path_factory.mktemp("executed")
    threads = int(os.environ.get("D2L_NUM_THREADS") or max(1, (os.cpu_count() or 2) // JOBS))
    futures = {(fw, page): concurrent.futures.Future() for fw, pages in cases.items() for page in pages}

    def run_framework(fw, pages):
        for page in pages:
            future = futures[(fw, page)]
            try:
                env = colab_env(fw)  # made once, by this framework's thread
                path = NOTEBOOKS / fw / "chapters" / f"{page}.ipynb"
                future.set_result(colab_like.run_notebook(path, env, repo, head, workdir, threads=threads))
            except BaseException as err:  # the test that waits for it fails with it
                future.set_exception(err)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=JOBS, thread_name_prefix="colab-like")
    for fw, pages in cases.items():
        pool.submit(run_framework, fw, pages)
    yield lambda fw, page: futures[(fw, page)].result()
    pool.shutdown(wait=True, cancel_futures=True)


CASES = [pytest.param(fw, page, id=f"{fw}-{page}",
                      marks=[] if page == QUICK else [pytest.mark.slow])
         for fw in FRAMEWORKS for page in PAGES]


@pytest.mark.parametrize("framework, page", CASES)
def test_exported_notebook_runs_as_in_colab(framework, page, local_repo, colab_env, colab_runs):
    path = NOTEBOOKS / framework / "chapters" / f"{page}.ipynb"
    assert path.is_file(), f"no {path}: build the book first (make html)"
    repo, head = local_repo
    result = colab_runs(framework, page)
    env = colab_env(framework)
    print(f"\n{framework} {page}: {result.seconds:.0f} s" + (f" ({result.note})" if result.note else ""))
    assert result.ok, f"{result.error}\n\ninstall cell output:\n{result.install_output[-3000:]}"

    # d2l_support came from the install cell: the local repository's commit, into this env.
    check = result.check
    assert check["executable"] == str(env.python)
    assert check["python"].startswith("3.12.")
    assert env.path / "lib" in Path(check["file"]).parents, check["file"]
    assert check["direct_url"]["url"] == repo.as_uri(), check["direct_url"]
    assert check["direct_url"]["vcs_info"]["commit_id"] == head, check["direct_url"]
    assert "Successfully installed" in result.install_output and "d2l_support" in result.install_output
    versions = check["versions"]
    assert versions["numpy"].startswith("1.26." if framework == "mxnet" else "2.0."), versions
    if framework == "mxnet":
        assert versions["mxnet"] == "1.9.1" and "setuptools" in versions, versions
    else:  # the install cell kept Colab's framework
        for pin in colab_like.COLAB_FRAMEWORK[framework]:
            name, version = pin.split("==")
            assert versions.get(name) == version, (pin, versions)

    if page == QUICK:
        # The section's fit (100 epochs), the overfitting exercise (30), the time-series one (10).
        runs = fit_records(result.notebook)
        assert [r["epochs"] for r in runs] == [100, 30, 10], runs
        fit = runs[0]
        assert fit["framework"] == framework and fit["device"].startswith("cpu"), fit
        # 100 epochs take the perplexity from about 28 (untrained) to below 10 in every framework.
        assert 1 < fit["val_ppl"] < 10 and 1 < fit["train_ppl"] < 10, fit
        assert "training perplexity: " in result.outputs and "validation perplexity: lowest" in result.outputs


@pytest.mark.parametrize("ref, kept", [("main", True), ("a" * 40, False), (None, True)])
def test_install_cell_is_pointed_at_the_local_repo(local_repo, ref, kept):
    """Only the URL changes; a ref the local repo has is kept, an unknown commit becomes HEAD."""
    import nbformat
    repo, head = local_repo
    suffix = f"@{ref}" if ref else ""
    source = f'%pip install "d2l_support[mxnet] @ git+https://github.com/rnn-book/rnn-book{suffix}"  # note'
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# a page"),
                                         nbformat.v4.new_code_cell(source)])
    nb.cells[1]["id"] = "install"
    _, note = colab_like.point_install_cell(nb, repo, head)
    expected = f"git+{repo.as_uri()}" + (suffix if kept else f"@{head}")
    assert nb.cells[1].source == f'%pip install "d2l_support[mxnet] @ {expected}"  # note'
    assert bool(note) == (not kept)
