"""Tests over the built book (`make test-site` builds it first).

Every code page's tab sets hold the page's frameworks; every model page's training and
prediction cells have real outputs in all four tabs; no page shows a traceback.
"""
import json
import re
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from tabbook.config import load_config
from tabbook.layout import Layout

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / '_build' / 'html'
MERGED = Layout.of(load_config(ROOT)).merged_dir
CONCISE = 'chapters/rnn-concise'
# The pages that train a language model: each trains it in every tab (a training curve) and
# predicts from the prefix 'it has' after training.
MODEL_PAGES = [CONCISE, 'chapters/rnn-scratch', 'chapters/lstm', 'chapters/gru',
               'chapters/deep-rnn', 'chapters/birnn']
FRAMEWORKS = ['pytorch', 'tensorflow', 'mxnet', 'jax']


def toc_docnames():
    toc = yaml.safe_load((ROOT / '_toc.yml').read_text())
    names = [toc['root']]

    def walk(entries):
        for entry in entries or ():
            if 'file' in entry:
                names.append(entry['file'])
            walk(entry.get('sections'))
            walk(entry.get('chapters'))
            for part in entry.get('parts', ()):
                walk(part.get('chapters'))

    walk(toc.get('chapters'))
    for part in toc.get('parts', ()):
        walk(part.get('chapters'))
    return [str(Path(n).with_suffix('')) for n in names]


def page(docname):
    path = HTML / f'{docname}.html'
    assert path.exists(), f'{path} is missing: build the book first (make html)'
    return BeautifulSoup(path.read_text(encoding='utf-8'), 'html.parser')


def page_frameworks(docname):
    merged = MERGED / f'{docname}.ipynb'
    if not merged.exists():
        return []
    meta = json.loads(merged.read_text())['metadata'].get('tabbook', {})
    return meta.get('frameworks', [])


def tab_sets(soup):
    """[(framework ids in order, {framework: content element})] for each tab set of a page."""
    found = []
    for tab_set in soup.select('div.sd-tab-set'):
        labels = tab_set.find_all('label', recursive=False)
        contents = tab_set.find_all('div', class_='sd-tab-content', recursive=False)
        ids = [label.get('data-sync-id') for label in labels]
        found.append((ids, dict(zip(ids, contents))))
    return found


DOCS = toc_docnames()
CODE_DOCS = [d for d in DOCS if page_frameworks(d)]


def test_book_has_all_its_pages_and_code_pages_cover_four_frameworks():
    assert CONCISE in DOCS
    assert len(CODE_DOCS) >= 5, f'expected the code pages to be executed, got {CODE_DOCS}'
    for docname in CODE_DOCS:
        assert page_frameworks(docname) == FRAMEWORKS, docname


@pytest.mark.parametrize('docname', CODE_DOCS)
def test_every_tab_set_holds_the_page_frameworks(docname):
    sets = tab_sets(page(docname))
    assert sets, f'{docname} has no framework tabs'
    for ids, _ in sets:
        assert ids == page_frameworks(docname), f'{docname}: tab set with {ids}'


@pytest.mark.parametrize('docname', DOCS)
def test_no_page_shows_a_traceback(docname):
    text = page(docname).get_text()
    for marker in ('Traceback (most recent call last)', 'NotImplementedError'):
        assert marker not in text, f'{docname} contains {marker!r}'
    assert not page(docname).select('.output.traceback, .output.error'), docname


def _code_and_outputs(content):
    code = '\n'.join(pre.get_text() for pre in content.select('.cell_input pre'))
    outputs = content.select('.cell_output')
    return code, outputs


@pytest.mark.parametrize('docname', MODEL_PAGES)
def test_model_pages_show_a_training_curve_in_every_tab(docname):
    """A model page trains in a tab set of all four frameworks whose every tab shows the
    training curve (`trainer.fit` draws it; fits run in a loop may plot their own figure)."""
    assert docname in DOCS, f'{docname} is not in _toc.yml'
    trained = 0
    for ids, contents in tab_sets(page(docname)):
        assert ids == FRAMEWORKS, f'{docname}: tab set with {ids}'
        codes = {fw: _code_and_outputs(c) for fw, c in contents.items()}
        if not all(re.search(r'\btrainer\w*(\[[^\]]*\])?\.fit\(', code) for code, _ in codes.values()):
            continue
        trained += 1
        for fw, (_, outputs) in codes.items():
            images = [img for out in outputs for img in out.find_all('img')]
            assert images, f'{docname}, {fw}: training cell without a training-curve image'
    assert trained >= 1, f'no tab set of {docname} trains a model in all four frameworks'


@pytest.mark.parametrize('docname', MODEL_PAGES)
def test_model_pages_predict_from_the_prefix_in_every_tab(docname):
    """Every model page shows a prediction from 'it has' in every tab (the concise page two:
    with random weights and after training)."""
    predictions = 0
    for ids, contents in tab_sets(page(docname)):
        codes = {fw: _code_and_outputs(c) for fw, c in contents.items()}
        if not all(".predict('it has'" in code for code, _ in codes.values()):
            continue
        predictions += 1
        for fw, (_, outputs) in codes.items():
            # the cell's value, or printed lines, each a prediction: the prefix and at least
            # ten characters more
            text = ' '.join(out.get_text() for out in outputs)
            assert re.search(r"it has[^'\"\n]{10,}", text), \
                f'{docname}, {fw}: no prediction from the prefix in {text[:80]!r}'
    expected = 2 if docname == CONCISE else 1
    assert predictions >= expected, f'{docname}: {predictions} prediction cell(s) in four tabs'


@pytest.mark.parametrize('docname', CODE_DOCS)
def test_launch_and_download_links_point_at_the_frameworks_notebooks(docname):
    config = yaml.safe_load((ROOT / '_config.yml').read_text())
    repo = config['repository']['url'].removeprefix('https://github.com/')
    links = {a.get_text(strip=True): a['href'] for a in page(docname).select('a[href]')}
    for fw, label in zip(FRAMEWORKS, ['PyTorch', 'TensorFlow', 'MXNet', 'JAX']):
        colab = links[f'Colab ({label})']
        assert colab == (f'https://colab.research.google.com/github/{repo}/blob/notebooks/'
                         f'{fw}/{docname}.ipynb')
        download = links[f'.ipynb ({label})']
        target = (HTML / docname).parent / download
        assert target.resolve() == (HTML / '_notebooks' / fw / f'{docname}.ipynb').resolve()
        assert target.exists(), download
    binder = [href for text, href in links.items() if text.startswith('Binder')]
    assert len(binder) == 1
    assert binder[0].startswith(f'https://mybinder.org/v2/gh/{repo}/notebooks?urlpath=lab/tree/')
    assert binder[0].endswith(f'/{docname}.ipynb')
    assert not any(href.endswith('.md') for href in links.values())


FIGURES = {  # figure label: (page, SVG file in chapters/img)
    'fig-rnn-unrolled': ('chapters/rnn-scratch', 'rnn-unrolled.svg'),
    'fig-bptt-graph': ('chapters/rnn-scratch', 'bptt-graph.svg'),
    'fig-lm-shift': ('chapters/language-models', 'lm-shift.svg'),
}


@pytest.mark.parametrize('label', sorted(FIGURES))
def test_figures_are_the_books_svgs_with_captions(label):
    docname, svg = FIGURES[label]
    soup = page(docname)
    figure = soup.find(id=label)
    assert figure is not None and figure.name in ('figure', 'div'), f'{docname}: no #{label}'
    img = figure.find('img')
    assert img is not None and img['src'].endswith(svg), img
    copied = (HTML / docname).parent / img['src']
    assert copied.is_file() and copied.read_bytes() == (ROOT / 'chapters' / 'img' / svg).read_bytes()
    assert b'<svg' in copied.read_bytes()[:200]
    caption = figure.find(['figcaption', 'p'], class_=lambda c: True) or figure.find('figcaption')
    assert caption is not None and len(caption.get_text(strip=True)) > 40, figure
    referenced = [a for a in soup.select(f'a[href="#{label}"]')]
    assert referenced, f'{docname}: the text never refers to {label}'
