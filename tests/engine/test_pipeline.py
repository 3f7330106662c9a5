"""The pipeline without kernels: TOC discovery, the plan and its compile checks, publishing with
its manifest, the layout, the Sphinx reader reading the manifest, progress under threads."""
import io
import json
import threading
from types import SimpleNamespace

import nbformat
import pytest

from tabbook.build import Progress, Summary, publish
from tabbook.config import ConfigError
from tabbook.export import Pin
from tabbook.layout import Layout
from tabbook.plan import check_patterns, discover_pages, make_plan
from enginelib import FRONT, line_of, write_page

PLAIN = "---\ntitle: x\n---\n"


def _toc(root, text):
    (root / "_toc.yml").write_text(text, encoding="utf-8")


def test_toc_is_read_by_sphinx_external_toc_with_globs(tmp_path, config):
    for rel in ("index.md", "a.md", "parts/y.md", "parts/x.md", "parts/sub/z.md", "other.md"):
        write_page(tmp_path, rel, "# T\n", front=PLAIN)
    _toc(tmp_path, "format: jb-book\nroot: index\nchapters:\n  - file: a\n  - glob: parts/*\n"
                   "  - url: https://example.org\n    title: Elsewhere\n")
    rels = [p.relative_to(tmp_path).as_posix() for p in discover_pages(config)]
    assert rels == ["index.md", "a.md", "parts/x.md", "parts/y.md"]
    assert [p.name for p in discover_pages(config, ["parts/*"])] == ["x.md", "y.md"]


def test_bad_toc_is_a_config_error_naming_it(tmp_path, config):
    _toc(tmp_path, "format: jb-book\nchapters: [1, 2]\n")
    with pytest.raises(ConfigError, match="_toc.yml: cannot read the table of contents"):
        discover_pages(config)


def test_pages_pattern_that_matches_nothing_suggests(tmp_path, config):
    write_page(tmp_path, "chapters/gru.md", "# G\n", front=PLAIN)
    with pytest.raises(ConfigError, match=r"--pages chapters/gur.md: matches no page.*did you mean chapters/gru.md"):
        check_patterns(config, ["chapters/gur.md"])
    check_patterns(config, ["chapters/*.md"])


# ------------------------------------------------------------------------ compile checks

SHARED_BAD = """# S

```{code-cell} ipython3
x = 0
if tab.selected('pytorch'):
    x = 1
elif tab.selected('jax'):
    y = 2
  z = 3
```
"""

JAX_BAD = """# J

```{code-cell} ipython3
%%tab pytorch
ok = 1
```

```{code-cell} ipython3
%%tab jax
ok = (1
```

```{code-cell} ipython3
%time t = 1
!echo shell escapes and magics compile
await_me = 1
```
"""


def test_syntax_error_reported_once_at_the_page_line_for_every_framework(tmp_path, config):
    p = write_page(tmp_path, "s.md", SHARED_BAD)
    plan = make_plan(config)
    assert plan.pages == []
    err = plan.errors["s.md"]
    assert err.count("IndentationError") == 1
    assert err.startswith(f"s.md:{line_of(p, '  z = 3')}: [pytorch, jax] IndentationError")
    assert "before running any kernel" in err and "cell:" in err


CLASS_BAD = """# C

Some prose first, so that the cell does not start at the page's top.

```{code-cell} ipython3
class Model:
value = 1
```
"""


def test_line_numbers_inside_a_syntax_message_are_page_lines(tmp_path, config):
    p = write_page(tmp_path, "c.md", CLASS_BAD)
    err = make_plan(config).errors["c.md"]
    class_line = line_of(p, "class Model:")
    assert err.startswith(f"c.md:{line_of(p, 'value = 1')}: [pytorch, jax] IndentationError")
    # Python says "after class definition on line 1" (the cell's line): the page's is given
    assert f"after class definition on line {class_line}" in err
    assert "on line 1 " not in err and class_line > 1


def test_syntax_error_of_one_framework_names_it_and_magics_compile(tmp_path, config):
    p = write_page(tmp_path, "j.md", JAX_BAD)
    err = make_plan(config).errors["j.md"]
    assert err.startswith(f"j.md:{line_of(p, 'ok = (1')}: [jax] SyntaxError")
    assert err.count("SyntaxError") == 1 and "pytorch" not in err.split("\n")[0]


def test_non_python_kernels_are_not_compiled(tmp_path, config, monkeypatch):
    import tabbook.plan as plan_module
    monkeypatch.setattr(plan_module, "_language", lambda kernel: "bash")
    write_page(tmp_path, "j.md", JAX_BAD)
    assert make_plan(config).errors == {}


# --------------------------------------------------------------------- publish + manifest

GOOD = """# G

```{code-cell} ipython3
print(1)
```

```{code-cell} ipython3
%%tab jax
print(2)
```
"""


def _fake_results(plan):
    """Each split notebook as if executed (no outputs): enough for merge and export."""
    out = {}
    for pp in plan.pages:
        for fw, split in pp.splits.items():
            nb = split.to_notebook()
            nb.metadata.tabbook = {"key": pp.keys[fw], "source": pp.page.rel, "framework": fw}
            out[(pp.page.rel, fw)] = nb
    return out


def _publish(config, plan, results):
    summary = Summary()
    publish(config, plan, results, summary, None, None, Pin("dev", None, "test"), io.StringIO())
    return summary


def test_publish_writes_the_manifest_the_layout_names(tmp_path, config):
    write_page(tmp_path, "g.md", GOOD)
    write_page(tmp_path, "h.md", GOOD.replace("print(2)", "print(3)"))
    write_page(tmp_path, "prose.md", "# P\n\nNo code.\n", front=PLAIN)
    plan = make_plan(config)
    summary = _publish(config, plan, _fake_results(plan))
    assert summary.merged == ["g.md", "h.md"]
    layout = Layout.of(config)
    assert layout.root == config.build_dir
    manifest = layout.read_manifest()
    g = plan.page("g.md").page
    assert manifest["g"] == {"source": "g.md", "sha256": g.sha256, "frameworks": ["pytorch", "jax"],
                             "notebook": "merged/g.ipynb"}
    assert manifest["prose"]["notebook"] is None and manifest["prose"]["frameworks"] == []
    merged = nbformat.read(layout.root / manifest["g"]["notebook"], as_version=4)
    assert merged.metadata.tabbook.source_sha256 == g.sha256
    for fw in ("pytorch", "jax"):
        assert layout.notebook(fw, "g").is_file()
    assert json.loads(layout.index.read_text())[g.sha256] == "g"

    # a --pages plan updates its pages' entries and keeps the others'
    (tmp_path / "g.md").write_text((tmp_path / "g.md").read_text() + "\nMore prose.\n")
    plan = make_plan(config, ["g.md"])
    assert [pp.page.rel for pp in plan.pages] == ["g.md"]
    _publish(config, plan, _fake_results(plan))
    after = layout.read_manifest()
    assert after["g"]["sha256"] == plan.page("g.md").page.sha256 != g.sha256
    assert after["h"] == manifest["h"] and after["prose"] == manifest["prose"]

    # a page that now fails to plan leaves the manifest: the reader then refuses it
    (tmp_path / "h.md").write_text((tmp_path / "h.md").read_text().replace("print(3)", "print(3"))
    plan = make_plan(config)
    assert "h.md" in plan.errors
    _publish(config, plan, _fake_results(plan))
    assert "h" not in layout.read_manifest()

    # a page that left the book (here: deleted) leaves the manifest with the next full plan
    (tmp_path / "prose.md").unlink()
    plan = make_plan(config)
    _publish(config, plan, _fake_results(plan))
    assert set(layout.read_manifest()) == {"g"}


def test_unreadable_or_old_manifest_reads_as_empty(tmp_path):
    layout = Layout(tmp_path)
    assert layout.read_manifest() == {}
    layout.manifest.write_text("{not json")
    assert layout.read_manifest() == {}
    layout.manifest.write_text(json.dumps({"version": 0, "pages": {"a": {}}}))
    assert layout.read_manifest() == {}


# ------------------------------------------------------------------ the reader uses it

class _Env:
    def __init__(self, root):
        self.root, self.metadata, self.deps = root, {}, []

    def doc2path(self, docname):
        return str(self.root / f"{docname}.md")

    def note_dependency(self, path):
        self.deps.append(path)


def _read(monkeypatch, config, docname):
    from tabbook.sphinx import reader
    monkeypatch.setattr(reader.settings, "get", lambda app: SimpleNamespace(book=config))
    app = SimpleNamespace(env=_Env(config.root))
    app.env.metadata[docname] = {}
    text = (config.root / f"{docname}.md").read_text(encoding="utf-8")
    reader._on_source_read(app, docname, [text])
    return app, reader.read_page(text, build_dir=str(config.build_dir))


def test_reader_renders_what_the_manifest_names(tmp_path, config, monkeypatch):
    write_page(tmp_path, "g.md", GOOD)
    write_page(tmp_path, "prose.md", "# P\n\nNo code.\n", front=PLAIN)
    plan = make_plan(config)
    _publish(config, plan, _fake_results(plan))
    app, nb = _read(monkeypatch, config, "g")
    assert app.env.metadata["g"]["tabbook_frameworks"] == ["pytorch", "jax"]
    assert any(c.metadata.get("tabbook", {}).get("framework") == "jax" for c in nb.cells)
    assert str(Layout.of(config).merged("g")) in app.env.deps  # re-read when re-executed
    _app, nb = _read(monkeypatch, config, "prose")
    assert "tabbook" not in nb.metadata  # read by myst-nb itself


@pytest.mark.parametrize("marker", ["```", ":::", "~~~"])
def test_reader_refuses_an_edited_page_with_markup(tmp_path, config, monkeypatch, marker):
    from tabbook.sphinx.reader import TabbookError
    write_page(tmp_path, "g.md", GOOD)
    plan = make_plan(config)
    _publish(config, plan, _fake_results(plan))
    (tmp_path / "g.md").write_text(FRONT + f"# G\n\n{marker}{{fw-block}} jax\nnew\n{marker}\n")
    with pytest.raises(TabbookError, match="has not been executed .*older version"):
        _read(monkeypatch, config, "g")


# -------------------------------------------------------------------------- progress

def test_progress_table_is_only_touched_under_its_lock():
    progress = Progress(1, io.StringIO())

    class Guarded(dict):
        def _check(self):
            assert progress.lock.locked(), "progress table used without its lock"

        def __setitem__(self, k, v):
            self._check()
            super().__setitem__(k, v)

        def pop(self, *a):
            self._check()
            return super().pop(*a)

        def items(self):
            self._check()
            return super().items()

        def __contains__(self, k):
            self._check()
            return super().__contains__(k)

        def __getitem__(self, k):
            self._check()
            return super().__getitem__(k)

    progress.running = Guarded()
    errors = []

    def worker(n):
        try:
            for i in range(200):
                progress.started(("p", str(n)), 3)
                progress.at_cell(("p", str(n)), 2, 3)
                progress.heartbeat()
                progress.stopped(("p", str(n)))
        except AssertionError as e:
            errors.append(e)
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and progress.running == {}
    assert "still running: p " in progress.stream.getvalue()
