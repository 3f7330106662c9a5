"""Helpers of the readers' tests: the Colab-like harness (tools/colab_like.py) as a module, and
what the tests read from an executed notebook."""
import importlib.util
import os
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
# The exported notebooks; READERS_NOTEBOOKS names another folder of the same layout
# (e.g. _build/tabbook/notebooks, where the engine writes them before Sphinx copies them).
NOTEBOOKS = Path(os.environ.get("READERS_NOTEBOOKS") or REPO / "_build" / "html" / "_notebooks")


def _load_harness():
    spec = importlib.util.spec_from_file_location("colab_like", REPO / "tools" / "colab_like.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["colab_like"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


colab_like = _load_harness()
FRAMEWORKS = colab_like.FRAMEWORKS


def pages() -> list[str]:
    """The exported pages (one notebook per page and framework); empty before the book is built."""
    return sorted({p.stem for p in NOTEBOOKS.glob("*/chapters/*.ipynb")})


def fit_records(notebook: Path) -> list[dict]:
    """Each fit's summary (`Trainer.summary()`, carried in the final figure's metadata), in order."""
    nb = nbformat.read(notebook, as_version=4)
    return [o["metadata"]["d2l_support"]["run"] for c in nb.cells if c.cell_type == "code"
            for o in c.outputs if o.get("metadata", {}).get("d2l_support", {}).get("run")]
