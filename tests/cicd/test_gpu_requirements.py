"""requirements/gpu/<framework>.txt (DEVICE=gpu) pin the same stack as the CPU files, the
framework's CUDA build aside."""
import pytest
from packaging.requirements import Requirement

from cicdlib import FRAMEWORKS, REPO

REQ = REPO / "requirements"
# The CPU file's framework package and the GPU file's replacement (None: same package).
FRAMEWORK_PACKAGES = {"pytorch": ("torch", None), "tensorflow": ("tensorflow-cpu", "tensorflow"),
                      "mxnet": ("mxnet", None), "jax": ("jax", None)}


def pins(path) -> dict[str, Requirement]:
    """Requirements of a pip file by name (and marker, if any), following `-r` includes (relative
    to the including file)."""
    out = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            out.update(pins(path.parent / line[3:].strip()))
            continue
        assert not line.startswith("-"), f"{path}: unexpected option line {raw!r}"
        req = Requirement(line)
        # A package may be pinned once per environment marker (numpy for MXNet by Python version).
        key = f"{req.name}; {req.marker}" if req.marker else req.name
        assert key not in out, f"{path}: {key} listed twice"
        out[key] = req
    return out


def version(req: Requirement) -> str:
    (spec,) = req.specifier
    assert spec.operator in ("==", "==="), f"{req} is not an exact pin"
    return spec.version


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_gpu_file_pins_the_cpu_stack(framework):
    cpu, gpu = pins(REQ / f"{framework}.txt"), pins(REQ / "gpu" / f"{framework}.txt")
    cpu_pkg, gpu_pkg = FRAMEWORK_PACKAGES[framework]
    gpu_pkg = gpu_pkg or cpu_pkg
    assert version(gpu[gpu_pkg]) == version(cpu[cpu_pkg])
    rest_cpu = {n: version(r) for n, r in cpu.items() if n != cpu_pkg}
    rest_gpu = {n: version(r) for n, r in gpu.items() if n != gpu_pkg}
    assert rest_gpu == rest_cpu


def test_gpu_files_select_cuda_builds():
    torch = pins(REQ / "gpu" / "pytorch.txt")["torch"]
    # `===` excludes local CPU wheels (2.13.0+cpu); PyPI's Linux wheel of torch is the CUDA build.
    assert str(torch.specifier) == "===2.13.0"
    assert pins(REQ / "gpu" / "tensorflow.txt")["tensorflow"].extras == {"and-cuda"}
    assert pins(REQ / "gpu" / "jax.txt")["jax"].extras == {"cuda12"}
    # MXNet has no CUDA build that runs with this stack: the GPU build uses the CPU package.
    assert pins(REQ / "gpu" / "mxnet.txt") == pins(REQ / "mxnet.txt")
