"""The built book in headless Chromium with no network but 127.0.0.1.

Every page of `_build/html` (`make html` first), served locally, logs no SEVERE console message
(script errors, failed loads: anything fetched from another host fails), and every page with
math shows it typeset by MathJax (`mjx-container`), none left as TeX. The site archive,
unzipped and opened from `file://`, typesets math the same way. Needs Debian's `chromium` and
`chromium-driver`; screenshots go to `_build/test-artifacts/`.
"""
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'tests' / 'browser'))
from chromium import chromium, load, missing, serve, severe  # noqa: E402

HTML = ROOT / '_build' / 'html'
ARTIFACTS = ROOT / '_build' / 'test-artifacts'
ARCHIVES = yaml.safe_load((ROOT / '_config.yml').read_text())['sphinx']['config'].get(
    'tabbook_archives') or {}
ARCHIVE_DIR = HTML / ARCHIVES.get('dir', '_archives')
PAGES = sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob('*.html')
               if ARCHIVE_DIR not in p.parents and not p.relative_to(HTML).parts[0].startswith('_'))


@pytest.fixture(scope='module')
def browser():
    if missing():
        pytest.fail(f'browser tests need {missing()}: apt-get install -y chromium chromium-driver')
    assert len(PAGES) >= 5, f'no built site in {HTML}: build the book first (make html)'
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve(HTML) as base, chromium(offline=True) as driver:
        yield base, driver


@pytest.mark.parametrize('page', PAGES)
def test_page_logs_no_console_error_and_typesets_its_math(browser, page):
    base, driver = browser
    driver.get_log('browser')  # forget the previous page's messages
    counts = load(driver, f'{base}/{page}')
    errors = severe(driver.get_log('browser'))
    assert not errors, f'{page}: console errors: {errors}'
    assert counts['raw'] == 0, f'{page}: {counts["raw"]} formulas left as TeX (MathJax did not run)'
    if counts['typeset']:
        driver.execute_script("document.querySelector('mjx-container')"
                              ".scrollIntoView({block: 'center'})")
        driver.save_screenshot(str(ARTIFACTS / f"offline-{page.replace('/', '-')}.png"))


def test_some_page_has_math():
    assert any('class="math' in (HTML / p).read_text(encoding='utf-8') for p in PAGES)


def test_unzipped_site_typesets_math_from_file_urls(tmp_path):
    if missing():
        pytest.fail(f'browser tests need {missing()}')
    site_zip = ARCHIVE_DIR / f"{ARCHIVES.get('name', 'book')}-html.zip"
    assert site_zip.is_file(), f'{site_zip} is missing (tabbook_archives: site: true)'
    with zipfile.ZipFile(site_zip) as zf:
        zf.extractall(tmp_path)
    root = tmp_path / site_zip.stem
    math_pages = [p for p in PAGES if 'class="math' in (root / p).read_text(encoding='utf-8')]
    assert math_pages, 'no page with math in the archive'
    with chromium(offline=True) as driver:
        for page in math_pages[:2]:
            counts = load(driver, (root / page).as_uri())
            errors = severe(driver.get_log('browser'))
            assert not errors, f'{page} from file://: console errors: {errors}'
            assert counts['typeset'] > 0 and counts['raw'] == 0, f'{page} from file://: {counts}'
