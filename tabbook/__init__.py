"""tabbook: build engine for a book whose code cells are written once per framework.

Stages (one module each, data flows one way): parse -> split -> execute (+cache) -> merge
-> export; the Sphinx side lives in :mod:`tabbook.sphinx`.
"""
