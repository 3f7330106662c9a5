"""The built site needs no other host, and offers itself and its notebooks as archives.

Over the built book (`_build/html`, `make html` first): no page loads a script, stylesheet,
font or image from another host (tags of every page, `@import`/`url()` of every stylesheet);
math is typeset by the MathJax in `_static/`; the archives configured by `tabbook_archives`
exist, hold every file of the site and every notebook of each framework, and the preface links
to each of them.
"""
import re
import zipfile
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
import yaml
from bs4 import BeautifulSoup

from tabbook.config import load_config
from tabbook.layout import Layout

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / '_build' / 'html'
NOTEBOOKS = Layout.of(load_config(ROOT)).notebooks_dir
CONFIG = yaml.safe_load((ROOT / '_config.yml').read_text())['sphinx']['config']
ARCHIVES = CONFIG.get('tabbook_archives') or {}  # tabbook.sphinx.settings.Archives
FRAMEWORKS = list(CONFIG['tabbook']['frameworks'])
PREFACE = 'chapters/index'
ARCHIVE_DIR = HTML / ARCHIVES.get('dir', '_archives')
NAME = ARCHIVES.get('name', 'book')
SITE_ZIP = ARCHIVE_DIR / f'{NAME}-html.zip'
CSS_URL = re.compile(r"""@import\s+(?:url\()?\s*['"]?([^'")\s;]+)|url\(\s*['"]?([^'")]+)""")
# Link relations whose target the browser fetches as the page loads.
FETCHED_RELS = {'stylesheet', 'preload', 'modulepreload', 'prefetch', 'preconnect',
                'dns-prefetch', 'icon', 'shortcut', 'apple-touch-icon', 'manifest'}


def html_pages():
    pages = sorted(p for p in HTML.rglob('*.html') if ARCHIVE_DIR not in p.parents)
    assert len(pages) >= 5, f'no built site in {HTML}: build the book first (make html)'
    return pages


def soup(path):
    return BeautifulSoup(path.read_text(encoding='utf-8'), 'html.parser')


def external(url):
    """True for a URL on another host (``https://x``, ``//x``); data:, relative, #, mailto: not."""
    parsed = urlparse(url.strip())
    return bool(parsed.netloc) or parsed.scheme in {'http', 'https', 'ftp', 'ws', 'wss'}


def fetched_urls(page):
    """(what, URL) of everything a page makes the browser fetch as it loads."""
    found = [('script', s['src']) for s in page.find_all('script', src=True)]
    for link in page.find_all('link', href=True):
        if FETCHED_RELS & {r.lower() for r in link.get('rel', [])}:
            found.append((f"link rel={' '.join(link['rel'])}", link['href']))
    found += [(tag.name, tag['src']) for tag in page.find_all(['img', 'iframe', 'audio', 'video',
                                                              'source', 'embed'], src=True)]
    for style in page.find_all('style'):
        found += [('style', a or b) for a, b in CSS_URL.findall(style.get_text())]
    for tag in page.find_all(style=True):
        found += [('style=', a or b) for a, b in CSS_URL.findall(tag['style'])]
    return found


def test_no_page_fetches_anything_from_another_host():
    offending = {}
    for path in html_pages():
        bad = [f'{what}: {url}' for what, url in fetched_urls(soup(path)) if external(url)]
        if bad:
            offending[str(path.relative_to(HTML))] = bad
    assert not offending, f'pages that need the network: {offending}'


def test_no_inline_script_names_a_script_on_another_host():
    # e.g. sphinx-thebe's `const THEBE_JS_URL = "https://unpkg.com/..."`, loaded on demand
    url = re.compile(r"""['"]((?:https?:)?//[^'"\s]+\.m?js)\b""")
    offending = {}
    for path in html_pages():
        bodies = [s.get_text() for s in soup(path).find_all('script', src=False)]
        bad = [m for body in bodies for m in url.findall(body)]
        if bad:
            offending[str(path.relative_to(HTML))] = bad
    assert not offending, offending


def test_no_stylesheet_imports_anything_from_another_host():
    sheets = sorted((HTML / '_static').rglob('*.css'))
    assert sheets, 'no stylesheets under _static'
    offending = {}
    for sheet in sheets:
        urls = [a or b for a, b in CSS_URL.findall(sheet.read_text(encoding='utf-8', errors='replace'))]
        bad = [u for u in urls if external(u)]
        if bad:
            offending[str(sheet.relative_to(HTML))] = bad
    assert not offending, offending


def test_math_pages_load_the_sites_own_mathjax():
    math_pages = [p for p in html_pages() if soup(p).select('span.math, div.math')]
    assert math_pages, 'no page of the book has math'
    for path in math_pages:
        srcs = [s['src'] for s in soup(path).find_all('script', src=True) if 'mathjax' in s['src']]
        assert len(srcs) == 1, f'{path}: MathJax scripts {srcs}'
        script = Path(urljoin(path.as_uri(), urlparse(srcs[0]).path).removeprefix('file://'))
        assert script.is_relative_to(HTML / '_static') and script.is_file(), (path, srcs[0])
    fonts = list((HTML / '_static' / 'mathjax' / 'output' / 'chtml' / 'fonts').rglob('*.woff'))
    assert len(fonts) > 10, 'MathJax fonts are missing from _static/mathjax'


def notebook_zip(framework):
    return ARCHIVE_DIR / f'{NAME}-notebooks-{framework}.zip'


def test_preface_links_to_every_archive():
    assert ARCHIVES.get('site') and ARCHIVES.get('notebooks'), 'archives are off in _config.yml'
    page = HTML / f'{PREFACE}.html'
    targets = {Path(urljoin(page.as_uri(), a['href']).removeprefix('file://'))
               for a in soup(page).find_all('a', href=True) if a['href'].endswith('.zip')}
    wanted = {SITE_ZIP, *map(notebook_zip, FRAMEWORKS)}
    assert wanted <= targets, f'preface lacks links to {sorted(map(str, wanted - targets))}'
    for target in targets:
        assert target.is_file(), f'the preface links to a missing archive {target}'


def test_site_archive_holds_every_file_of_the_site():
    assert SITE_ZIP.is_file(), f'{SITE_ZIP} is missing'
    top = SITE_ZIP.stem
    with zipfile.ZipFile(SITE_ZIP) as zf:
        assert zf.testzip() is None
        names = {i.filename: i.file_size for i in zf.infolist() if not i.is_dir()}
    files = {f'{top}/{p.relative_to(HTML).as_posix()}': p.stat().st_size
             for p in HTML.rglob('*') if p.is_file() and ARCHIVE_DIR not in p.parents
             and not any(part.startswith('.') for part in p.relative_to(HTML).parts)}
    assert f'{top}/index.html' in names and f'{top}/{PREFACE}.html' in names
    assert {n for n in files if n.endswith('.html')} <= set(names), 'pages missing from the zip'
    assert set(names) == set(files), (sorted(set(files) - set(names))[:10],
                                      sorted(set(names) - set(files))[:10])
    changed = [n for n, size in files.items() if names[n] != size]
    assert not changed, f'files that differ from the site: {changed[:10]}'


@pytest.mark.parametrize('framework', FRAMEWORKS)
def test_notebook_archive_holds_every_notebook_of_its_framework(framework):
    path = notebook_zip(framework)
    assert path.is_file(), f'{path} is missing'
    expected = {p.relative_to(NOTEBOOKS / framework).as_posix(): p.read_bytes()
                for p in (NOTEBOOKS / framework).rglob('*.ipynb')
                if (HTML / p.relative_to(NOTEBOOKS / framework).with_suffix('.html')).is_file()}
    assert len(expected) >= 5, f'too few {framework} notebooks under {NOTEBOOKS}'
    with zipfile.ZipFile(path) as zf:
        got = {i.filename.removeprefix(f'{path.stem}/'): zf.read(i) for i in zf.infolist()}
        assert all(i.filename.startswith(f'{path.stem}/') for i in zf.infolist())
    assert set(got) == set(expected), (sorted(set(expected) - set(got)), sorted(set(got) - set(expected)))
    assert all(got[name] == data for name, data in expected.items()), 'notebooks differ'
