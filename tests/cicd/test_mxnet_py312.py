"""The MXNet environment on Python 3.12, built by the Makefile's own rule into a temporary folder
(`make VENV=... KERNELS=... PYTHON_MXNET=python3.12 <VENV>/mxnet/.stamp`): requirements/mxnet.txt's
markers give it numpy 1.26.4 and setuptools, and d2l_support's MXNet tests pass in it. Minutes
(the environment, then tests/support/test_mxnet.py with its two 100-epoch fits)."""
import json
import os
import subprocess
import sys
import time

import pytest

from cicdlib import REPO

sys.path.insert(0, str(REPO / "tools"))
import pick_python  # noqa: E402

pytestmark = pytest.mark.slow


def test_mxnet_environment_on_python_312(tmp_path):
    try:
        python = pick_python.find("==3.12.*", purpose="the MXNet-on-3.12 test")
    except SystemExit as e:
        pytest.fail(str(e))
    venvs, kernels = tmp_path / "venvs", tmp_path / "kernels"
    # Nothing of an enclosing make (its flags, variables, jobserver) or of an override leaks in.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MAKE", "MFLAGS", "PYTHON_")) and k not in ("PYTHON", "VENV", "PYTHONPATH")}
    start = time.monotonic()
    proc = subprocess.run(["make", "--no-print-directory", f"VENV={venvs}", f"KERNELS={kernels}",
                           f"PYTHON_MXNET={python}", str(venvs / "mxnet" / ".stamp")],
                          cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(f"\nMXNet environment on {python}: {time.monotonic() - start:.0f} s")
    assert proc.returncode == 0, f"make failed:\n{proc.stdout[-6000:]}"
    assert "mxnet: Python 3.12" in proc.stdout and f"{python} (PYTHON_MXNET)" in proc.stdout
    assert not (venvs / "book").exists(), "KERNELS= must spare the book environment"

    env_python = venvs / "mxnet" / "bin" / "python"
    versions = json.loads(subprocess.run(
        # MXNet imports through d2l_support, which restores the numpy aliases it needs first.
        [str(env_python), "-c", "import json, platform, numpy, setuptools; from d2l_support import mxnet; "
         "print(json.dumps([platform.python_version(), numpy.__version__, setuptools.__version__, "
         "mxnet.mx.__version__]))"],
        capture_output=True, text=True, check=True).stdout)
    assert versions[0].startswith("3.12.") and versions[1:] == ["1.26.4", "80.9.0", "1.9.1"], versions
    assert (venvs / "mxnet" / ".stamp").read_text().strip() == versions[0]  # the stamp's record
    spec = json.loads((kernels / "share" / "jupyter" / "kernels" / "d2l-mxnet" / "kernel.json").read_text())
    assert spec["argv"][0] == str(env_python)

    data = os.environ.get("D2L_DATA_DIR") or str(REPO.parent / "shared" / "data")
    start = time.monotonic()
    tests = subprocess.run([str(env_python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "tests/support/test_mxnet.py"], cwd=REPO,
                           env={**env, "D2L_DATA_DIR": data} if os.path.isdir(data) else env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(f"tests/support/test_mxnet.py on Python {versions[0]}: {time.monotonic() - start:.0f} s, "
          + tests.stdout.strip().splitlines()[-1])
    assert tests.returncode == 0, tests.stdout[-6000:]
