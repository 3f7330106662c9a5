"""Every path of the engine's build folder (``<book>/_build/tabbook`` by default), in one place.

::

    <build_dir>/
      cache/<key[:2]>/<key>.ipynb          executed (page, framework) notebooks, by cache key
      merged/<docname>.ipynb               a page's frameworks merged (the Sphinx reader's input)
      merged/index.json                    sha256 of a page's text -> docname (older readers)
      notebooks/<framework>/<docname>.ipynb  the readers' notebooks (download / Colab)
      manifest.json                        page -> frameworks, merged notebook, source hash
      summary.json                         the last build's jobs, errors and timings
      warnings.json                        Sphinx warnings per page, kept until fixed
      logs/<framework>/<docname>.log       each kernel's own output (native start-up lines)
      figures/                             figures extensions draw from merged notebooks

A portable results folder (``execute --out D``, read by ``merge-results D``) holds
``D/<framework>/<docname>.ipynb`` (:meth:`Layout.result`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Layout:
    root: Path  # the build folder

    @classmethod
    def of(cls, config) -> "Layout":
        return cls(Path(config.build_dir))

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def merged_dir(self) -> Path:
        return self.root / "merged"

    def merged(self, docname: str) -> Path:
        return self.merged_dir / f"{docname}.ipynb"

    @property
    def index(self) -> Path:
        return self.merged_dir / "index.json"

    @property
    def notebooks_dir(self) -> Path:
        return self.root / "notebooks"

    def notebook(self, framework: str, docname: str) -> Path:
        return self.notebooks_dir / framework / f"{docname}.ipynb"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def warnings(self) -> Path:
        return self.root / "warnings.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @staticmethod
    def result(directory, framework: str, docname: str) -> Path:
        """Where a portable results folder holds the executed notebook of (page, framework)."""
        return Path(directory) / framework / f"{docname}.ipynb"

    # ---------------------------------------------------------------------------- manifest

    def read_manifest(self) -> dict[str, dict]:
        """``docname -> {source, sha256, frameworks, notebook}`` (``notebook``: the merged
        notebook's path relative to the build folder, or None for a page the engine does not
        execute); empty when there is no (readable) manifest."""
        try:
            data = json.loads(self.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            return {}
        return dict(data.get("pages") or {})

    def manifest_text(self, pages: dict[str, dict]) -> str:
        return json.dumps({"version": MANIFEST_VERSION, "pages": dict(sorted(pages.items()))},
                          indent=1, sort_keys=True)
