"""The framework choice in a real browser: page-wide switch, memory, URL preselection, plots."""
from __future__ import annotations

import pytest
from renderlib import ARTIFACTS
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

# The label of the selected tab of every tab set on the page, for either tab library.
SELECTED_JS = """
return Array.from(document.querySelectorAll('.tabbook-tabs')).map((set) => {
  const design = set.querySelector(':scope > input:checked');
  if (design) return design.nextElementSibling.textContent.trim();
  const tab = set.querySelector('[role=tablist] > [aria-selected=true]');
  return tab ? tab.textContent.trim() : null;
});
"""
# The elements of the visible panel of every tab set.
VISIBLE_PANELS_JS = """
return Array.from(document.querySelectorAll('.tabbook-tabs')).map((set) =>
  Array.from(set.querySelectorAll(':scope > .sd-tab-content, :scope > .sphinx-tabs-panel'))
       .find((panel) => panel.offsetParent !== null));
"""


def open_page(driver, base, page, query="", fresh=False):
    if fresh:  # forget any earlier choice
        driver.get(f"{base}/intro.html")
        driver.execute_script("localStorage.clear(); sessionStorage.clear();")
    driver.get(f"{base}/chapters/{page}.html{query}")
    WebDriverWait(driver, 10).until(lambda d: d.execute_script(SELECTED_JS))


def wait_all_selected(driver, label):
    try:
        WebDriverWait(driver, 5).until(lambda d: set(d.execute_script(SELECTED_JS)) == {label})
    except Exception:
        pytest.fail(f"not every tab set shows {label}: {driver.execute_script(SELECTED_JS)}")


def click_tab(driver, library, label, which=0):
    css = "label.sd-tab-label" if library == "sphinx-design" else "button.sphinx-tabs-tab"
    tabs = [t for t in driver.find_elements(By.CSS_SELECTOR, f".tabbook-tabs {css}") if t.text == label]
    tabs[which].click()


def test_default_is_first_framework(driver, site):
    base, _ = site
    open_page(driver, base, "tabs", fresh=True)
    assert driver.execute_script(SELECTED_JS) == ["PyTorch"] * 3


def test_click_switches_every_tab_set(driver, site):
    base, library = site
    open_page(driver, base, "tabs", fresh=True)
    click_tab(driver, library, "TensorFlow", which=2)  # a tab in the last set
    wait_all_selected(driver, "TensorFlow")
    click_tab(driver, library, "MXNet", which=0)
    wait_all_selected(driver, "MXNet")


def test_choice_survives_navigation_and_new_tab(driver, site):
    base, library = site
    open_page(driver, base, "tabs", fresh=True)
    click_tab(driver, library, "JAX")
    wait_all_selected(driver, "JAX")
    open_page(driver, base, "second")  # another page whose tabs are [JAX, PyTorch]
    click_tab(driver, library, "PyTorch")
    wait_all_selected(driver, "PyTorch")
    open_page(driver, base, "tabs")  # back on the first page: still PyTorch
    wait_all_selected(driver, "PyTorch")
    first = driver.current_window_handle
    driver.switch_to.new_window("tab")
    try:
        open_page(driver, base, "second")
        wait_all_selected(driver, "PyTorch")
    finally:
        driver.close()
        driver.switch_to.window(first)


def test_url_preselects_framework_and_shows_fallback(driver, site):
    base, _ = site
    open_page(driver, base, "tabs", query="?fw=jax", fresh=True)
    wait_all_selected(driver, "JAX")
    panels = driver.execute_script(VISIBLE_PANELS_JS)
    assert panels[0].text == "No JAX code for this step."  # never another framework's code
    assert "framework: jax" in panels[2].text
    driver.save_screenshot(str(ARTIFACTS / f"tabs-fw-jax-{site[1]}.png"))


@pytest.mark.parametrize("label", ["PyTorch", "MXNet"])  # a PNG and an SVG plot
def test_plot_in_tab_is_displayed(driver, site, label):
    base, library = site
    open_page(driver, base, "tabs", fresh=True)
    click_tab(driver, library, label, which=1)
    wait_all_selected(driver, label)
    img = driver.execute_script(VISIBLE_PANELS_JS)[1].find_element(By.CSS_SELECTOR, ".cell_output img")
    WebDriverWait(driver, 5).until(lambda d: d.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0", img))
    assert img.is_displayed() and img.size["width"] > 0
    driver.execute_script("arguments[0].scrollIntoView()", img)
    driver.save_screenshot(str(ARTIFACTS / f"plot-{label}-{library}.png"))
