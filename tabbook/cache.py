"""Content-addressed execution cache: one executed notebook per key, written atomically.

The key of a (page, framework) notebook hashes what decides its outputs: the resolved code and
tags of its cells, the kernel, the framework's hidden setup code, the page's directory (the
kernel's working directory), the cell timeout and the content of the framework's ``deps`` files.
Prose is not part of it, so prose edits execute nothing.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import nbformat

from .config import ConfigError, Framework

ENGINE_VERSION = 1  # bump when execution semantics change


def deps_digests(framework: Framework, root: Path) -> dict[str, str]:
    out = {}
    for rel in framework.deps:
        path = root / rel
        try:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as e:
            raise ConfigError(f"framework {framework.name}: deps file {rel} cannot be read "
                              f"({e.strerror}); fix `deps` in _config.yml") from None
    return out


def cache_key(split, deps: dict[str, str], device: str = "cpu") -> str:
    """Key of a :class:`tabbook.split.SplitNotebook` given its framework's deps digests and the
    device whose environments execute it (``cpu``, or ``gpu`` for the GPU environments)."""
    payload = {
        "engine": ENGINE_VERSION,
        "device": device,
        "kernel": split.framework.kernel,
        "setup": split.framework.setup,
        "cwd": Path(split.page.rel).parent.as_posix(),
        "timeout": split.timeout,
        "deps": deps,
        "cells": [[c.code, sorted(c.metadata.get("tags", []))] for c in split.cells],
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def write_atomic(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` via a temp file + rename; skip (return False) if unchanged."""
    path = Path(path)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


class Cache:
    """Executed notebooks by key under ``directory`` (``<key[:2]>/<key>.ipynb``)."""

    def __init__(self, directory):
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.ipynb"

    def get(self, key: str) -> nbformat.NotebookNode | None:
        path = self.path(key)
        try:
            nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        except (OSError, ValueError):  # absent, or unreadable: a miss
            return None
        return nb if nb.metadata.get("tabbook", {}).get("key") == key else None

    def put(self, key: str, nb: nbformat.NotebookNode) -> None:
        if nb.metadata.get("tabbook", {}).get("key") != key:
            raise ValueError("notebook metadata.tabbook.key does not match the cache key")
        write_atomic(self.path(key), nbformat.writes(nb))
