"""Book-local Sphinx extension: tables and a chart built from the book's executed notebooks.

The engine executes every page before Sphinx runs and writes one merged notebook per page
(``<build_dir>/merged/<docname>.ipynb``); each framework's code cell there carries
``metadata.tabbook.framework`` and that kernel's outputs. ``d2l_support`` leaves facts in output
metadata under ``d2l_support``: ``Trainer.fit`` puts ``trainer.summary()`` under
``d2l_support.run`` of its final board image. Two directives read them back:

``{d2l-runs}`` tabulates and charts the training runs of some pages::

    ```{d2l-runs}
    :pages: rnn-scratch=from scratch, rnn-concise=concise
    :tag: results-run
    ```

  ``:pages:`` lists ``docname=label`` pairs (docnames relative to the current page, or absolute
  from the book root with a leading ``/``); the first page is the baseline the others are
  compared with. ``:tag:`` keeps only runs from code cells with that cell tag. Each framework
  must have exactly one run per page. Below the table, one computed sentence per framework
  compares validation perplexity and fit time with the baseline.

``{d2l-device}`` writes the sentence that says which build the reader is looking at: it reads
the device of every training run of every executed page (the ``device`` of each
``d2l_support.run`` record) and says, per framework, where they trained; the build is called a
CPU build when every run trained on the CPU, a GPU build otherwise.

``{d2l-versions}`` tabulates the versions a page's cells put under ``d2l_support.versions``
(a list of [name, version] pairs, which keeps their order through JSON), one row per framework; ``:page:`` names the page (default: this one).

Nothing here is typed in by hand: a page that was not executed, or whose runs are missing, is an
error naming the page and framework, so a stale or partial build cannot show a complete table.
"""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import docname_join, logging
from sphinx.util.docutils import SphinxDirective

from tabbook.config import BookConfig
from tabbook.layout import Layout
from tabbook.sphinx import settings as tabbook_settings

logger = logging.getLogger(__name__)

__version__ = '1.0'


class D2LDataError(Exception):
    """The executed notebooks do not hold what a directive needs."""


# --------------------------------------------------------------------------------------------
# Reading the merged notebooks
# --------------------------------------------------------------------------------------------
def book_config(app) -> BookConfig:
    return tabbook_settings.get(app).book


def merged_path(app, docname) -> Path:
    return Layout.of(book_config(app)).merged(docname)


def load_merged(app, docname) -> dict:
    path = merged_path(app, docname)
    if not path.is_file():
        raise D2LDataError(f'page {docname} has not been executed ({path} is missing): '
                           f'run `make html`')
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def cell_facts(notebook, key, tag=None):
    """(framework, cell line, value) for every output of a framework's code cell whose metadata
    holds `d2l_support.<key>`; with `tag`, only cells carrying that tag."""
    found = []
    for cell in notebook.get('cells', []):
        if cell.get('cell_type') != 'code':
            continue
        meta = cell.get('metadata', {})
        framework = meta.get('tabbook', {}).get('framework')
        if framework is None or (tag and tag not in meta.get('tags', [])):
            continue
        for output in cell.get('outputs', []):
            value = output.get('metadata', {}).get('d2l_support', {}).get(key)
            if value is not None:
                found.append((framework, meta['tabbook'].get('line'), value))
    return found


# --------------------------------------------------------------------------------------------
# Rendering helpers
# --------------------------------------------------------------------------------------------
def table_node(headers, rows, classes=()):
    """A docutils table with a header row; `rows` are lists of strings."""
    table = nodes.table(classes=['d2l-table', *classes])
    group = nodes.tgroup(cols=len(headers))
    table += group
    group.extend(nodes.colspec(colwidth=1) for _ in headers)

    def row_node(cells):
        row = nodes.row()
        for text in cells:
            entry = nodes.entry()
            entry += nodes.paragraph(text=str(text))
            row += entry
        return row

    head = nodes.thead()
    head += row_node(headers)
    body = nodes.tbody()
    body.extend(row_node(r) for r in rows)
    group += head
    group += body
    return table


def fmt(value, digits):
    return '—' if value is None else f'{value:.{digits}f}'


def write_if_changed(path: Path, data: bytes):
    """Write only when the bytes differ, so an unchanged chart does not trigger rebuilds."""
    if not path.is_file() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def srcdir_uri(app, path: Path) -> str:
    """An image URI for a file under the source folder (Sphinx reads '/x' as srcdir-relative)."""
    try:
        return '/' + path.resolve().relative_to(Path(app.srcdir).resolve()).as_posix()
    except ValueError:
        raise D2LDataError(f'the tabbook build folder {path.parent} is outside the book folder '
                           f'{app.srcdir}; the chart cannot be included') from None


class D2LDirective(SphinxDirective):
    """Common error handling: data problems become one warning with the page's location."""

    def run(self):
        try:
            return self.build()
        except D2LDataError as err:
            logger.warning(f'{self.name}: {err}', location=self.get_location(), type='d2l')
            return [nodes.paragraph(text=f'[{self.name}: {err}]')]

    def resolve_docname(self, name):
        docname = docname_join(self.env.docname, name.strip())
        if docname not in self.env.found_docs:
            raise D2LDataError(f'no page named {name!r} (resolved to {docname!r})')
        return docname

    def frameworks(self):
        config = book_config(self.env.app)
        return {name: fw.label for name, fw in config.frameworks.items()}

    def notebook(self, docname):
        self.env.note_dependency(str(merged_path(self.env.app, docname)))
        return load_merged(self.env.app, docname)


# --------------------------------------------------------------------------------------------
# {d2l-runs}
# --------------------------------------------------------------------------------------------
def parse_pages(text, default_tag=None):
    """[(docname, tag, label)] from `docname=label` or `docname:tag=label` items (the tag picks
    one of several runs on a page; without one, the directive's `:tag:` option is used)."""
    entries = []
    for item in re.split(r'\s*,\s*|\n', text.strip()):
        if not item:
            continue
        name, sep, label = item.partition('=')
        name, _, tag = name.partition(':')
        if not sep or not name.strip() or not label.strip():
            raise D2LDataError(f':pages: wants "docname=label" or "docname:tag=label" items, '
                               f'got {item!r}')
        entries.append((name.strip(), tag.strip() or default_tag, label.strip()))
    if not entries:
        raise D2LDataError(':pages: names no page')
    labels = [label for _, _, label in entries]
    if len(set(labels)) < len(labels):
        raise D2LDataError(f':pages: gives two entries the same label ({", ".join(labels)})')
    return entries


class RunsDirective(D2LDirective):
    option_spec = {'pages': directives.unchanged_required, 'tag': directives.unchanged,
                   'metric': directives.unchanged}
    has_content = False

    def collect(self):
        """{(framework, label): record} for every framework of the book and every page."""
        labels = self.frameworks()
        runs = {}
        for name, tag, impl in self.entries():
            docname = self.resolve_docname(name)
            notebook = self.notebook(docname)
            page_frameworks = notebook['metadata'].get('tabbook', {}).get('frameworks', [])
            per_fw = {}
            for framework, line, record in cell_facts(notebook, 'run', tag):
                per_fw.setdefault(framework, []).append((line, record))
            for framework in labels:
                found = per_fw.get(framework, [])
                what = f'runs in cells tagged {tag!r}' if tag else 'runs'
                if framework not in page_frameworks:
                    raise D2LDataError(f'page {docname} does not cover {labels[framework]}')
                if not found:
                    raise D2LDataError(f'page {docname}, {labels[framework]}: no {what} '
                                       f'(did Trainer.fit run to the end?)')
                if len(found) > 1:
                    lines = ', '.join(str(line) for line, _ in found)
                    raise D2LDataError(f'page {docname}, {labels[framework]}: {len(found)} '
                                       f'{what} (cells at lines {lines}); tag one of them')
                runs[framework, impl] = found[0][1]
        return runs

    def entries(self):
        return parse_pages(self.options.get('pages', ''), self.options.get('tag'))

    def build(self):
        labels = self.frameworks()
        impls = [label for _, _, label in self.entries()]
        metric = self.options.get('metric', 'val_ppl')
        train_metric = metric.replace('val_', 'train_', 1)
        runs = self.collect()

        headers = ['Framework', 'Implementation', 'Model', f'Final {describe(train_metric)}',
                   f'Final {describe(metric)}', 'Epochs', 'Fit time (s)', 'Device', 'Version']
        rows = []
        for fw, fw_label in labels.items():
            for impl in impls:
                r = runs[fw, impl]
                rows.append([fw_label, impl, r.get('model', '—'), fmt(r.get(train_metric), 2),
                             fmt(r.get(metric), 2), r.get('epochs', '—'),
                             fmt(r.get('fit_seconds'), 1), r.get('device', '—'),
                             r.get('version') or '—'])
        result = [table_node(headers, rows)]
        if len(impls) > 1:
            result.append(self.comparison(labels, impls, runs, metric))
        result.append(self.chart(labels, impls, runs, metric))
        return result

    def comparison(self, labels, impls, runs, metric):
        """One computed sentence per framework comparing each page with the first one."""
        items = nodes.bullet_list()
        base = impls[0]
        for fw, fw_label in labels.items():
            b = runs[fw, base]
            parts = []
            for impl in impls[1:]:
                r = runs[fw, impl]
                value, base_value = r.get(metric), b.get(metric)
                seconds, base_seconds = r.get('fit_seconds'), b.get('fit_seconds')
                parts.append(f'the {impl} model ends at {describe(metric)} {fmt(value, 2)} '
                             f'against {fmt(base_value, 2)} {base} '
                             f'({describe_diff(value, base_value)}), and its fit takes '
                             f'{fmt(seconds, 1)} s against {fmt(base_seconds, 1)} s '
                             f'({describe_speed(seconds, base_seconds)})')
            item = nodes.list_item()
            item += nodes.paragraph(text=f'{fw_label}: ' + '; '.join(parts) + '.')
            items += item
        return items

    def chart(self, labels, impls, runs, metric):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(8, 3.2))
        axes = fig.subplots(1, 2)
        x = np.arange(len(labels))
        width = 0.8 / len(impls)
        for ax, key, title, label_fmt in ((axes[0], metric, f'final {describe(metric)}', '%.2f'),
                                          (axes[1], 'fit_seconds', 'fit time (s)', '%.1f')):
            for i, impl in enumerate(impls):
                values = [runs[fw, impl].get(key) or 0.0 for fw in labels]
                bars = ax.bar(x + (i - (len(impls) - 1) / 2) * width, values, width, label=impl,
                              color=f'C{i}')
                ax.bar_label(bars, fmt=label_fmt, fontsize=7)
            ax.set_xticks(x, list(labels.values()))
            ax.set_title(title, fontsize=10)
            ax.margins(y=0.12)
            ax.grid(axis='y', alpha=0.3)
        fig.legend(*axes[0].get_legend_handles_labels(), loc='lower center', ncol=len(impls),
                   fontsize=8, frameon=False)
        fig.tight_layout(rect=(0, 0.07, 1, 1))
        buf = io.BytesIO()
        fig.savefig(buf, format='png', dpi=110)

        # one chart per directive: a page may compare several sets of runs
        slug = self.env.docname.replace('/', '-')
        number = self.env.new_serialno('d2l-runs')
        name = f'{slug}-runs.png' if number == 0 else f'{slug}-runs-{number + 1}.png'
        path = Layout.of(book_config(self.env.app)).figures / name
        write_if_changed(path, buf.getvalue())
        image = nodes.image(uri=srcdir_uri(self.env.app, path),
                            alt=f'{describe(metric)} and fit time per framework and implementation')
        figure = nodes.figure(classes=['d2l-runs-chart'])
        figure += image
        return figure


METRIC_NAMES = {'ppl': 'perplexity', 'loss': 'loss', 'acc': 'accuracy'}


def describe(metric):
    """'val_ppl' -> 'validation perplexity' (unknown names are kept as they are)."""
    split, _, name = metric.partition('_')
    split = {'train': 'training', 'val': 'validation'}.get(split)
    if split is None or name not in METRIC_NAMES:
        return metric
    return f'{split} {METRIC_NAMES[name]}'


def describe_diff(value, base):
    if value is None or base is None:
        return 'not comparable'
    diff = value - base
    if abs(diff) < 0.005:
        return 'the same to two decimals'
    share = abs(diff) / base
    return f'{abs(diff):.2f} {"higher" if diff > 0 else "lower"}, {share:.0%}' if share >= 0.01 \
        else f'{abs(diff):.2f} {"higher" if diff > 0 else "lower"}, {share:.1%}'


def describe_speed(seconds, base):
    if not seconds or not base:
        return 'not comparable'
    ratio = base / seconds
    if abs(ratio - 1) < 0.05:
        return 'about the same'
    return f'{ratio:.1f}× faster' if ratio > 1 else f'{1 / ratio:.1f}× slower'


# --------------------------------------------------------------------------------------------
# {d2l-versions}
# --------------------------------------------------------------------------------------------
class VersionsDirective(D2LDirective):
    option_spec = {'page': directives.unchanged}
    has_content = False

    def build(self):
        docname = self.resolve_docname(self.options.get('page') or '/' + self.env.docname)
        notebook = self.notebook(docname)
        found = {}
        for framework, _, versions in cell_facts(notebook, 'versions'):
            found.setdefault(framework, {}).update(versions)  # [name, version] pairs, in order
        rows = []
        for fw, fw_label in self.frameworks().items():
            if fw not in found:
                raise D2LDataError(f'page {docname}: no versions recorded for {fw_label}')
            versions = dict(found[fw])
            python = versions.pop('Python', '—')
            rows.append([fw_label, python,
                         ', '.join(f'{name} {v}' for name, v in versions.items())])
        return [table_node(['Framework', 'Python', 'Libraries'], rows)]


# --------------------------------------------------------------------------------------------
# {d2l-device}
# --------------------------------------------------------------------------------------------
def devices_of_runs(runs):
    """{framework: sorted devices} from (docname, framework, record) triples."""
    found = {}
    for _, framework, record in runs:
        device = record.get('device')
        if not device:
            raise D2LDataError(f'a {framework} run records no device')
        found.setdefault(framework, set()).add(device)
    return {fw: sorted(devices) for fw, devices in found.items()}


def device_sentence(labels, devices):
    """The preface's sentence: which build this is, and where each framework trained."""
    missing = [label for fw, label in labels.items() if fw not in devices]
    if missing:
        raise D2LDataError('no training run recorded for ' + ', '.join(missing))
    on_cpu = all(d == ['cpu'] for d in devices.values())
    kind = 'a CPU build' if on_cpu else 'a GPU build'
    if on_cpu:
        where = (f'every training run of every page, in all {len(labels)} frameworks, ran on '
                 f'the CPU (the device the training outputs name: cpu)')
    else:
        where = '; '.join(f'{label} trained on {" and ".join(devices[fw])}'
                          for fw, label in labels.items())
    return f'The site you are reading is {kind}: {where}.'


class DeviceDirective(D2LDirective):
    has_content = False

    def build(self):
        labels = self.frameworks()
        runs = []
        for docname in sorted(self.env.found_docs):
            if not merged_path(self.env.app, docname).is_file():
                continue
            notebook = self.notebook(docname)
            runs.extend((docname, fw, record) for fw, _, record in cell_facts(notebook, 'run'))
        if not runs:
            raise D2LDataError('no executed page holds a training run: run `make html`')
        paragraph = nodes.paragraph(text=device_sentence(labels, devices_of_runs(runs)),
                                    classes=['d2l-device'])
        return [paragraph]


def setup(app):
    app.setup_extension('tabbook.sphinx')  # the engine's extension: config and merged notebooks
    app.add_directive('d2l-runs', RunsDirective)
    app.add_directive('d2l-versions', VersionsDirective)
    app.add_directive('d2l-device', DeviceDirective)
    return {'version': __version__, 'parallel_read_safe': True, 'parallel_write_safe': True}
