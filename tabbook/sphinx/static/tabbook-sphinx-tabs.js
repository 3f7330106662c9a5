// tabbook with sphinx-tabs: sphinx-tabs itself keeps a chosen group tab for the browser tab's
// session only. This also keeps the reader's framework in localStorage (new browser tabs) and
// takes it from the URL (?fw=jax). Loaded after sphinx-tabs' tabs.js (selectNamedTabs).
(() => {
  const KEY = "tabbook-framework";
  const load = () => { try { return window.localStorage.getItem(KEY); } catch (e) { return null; } };
  const save = (name) => { try { window.localStorage.setItem(KEY, name); } catch (e) { /* no storage */ } };
  const tabSelector = (name) => `.tabbook-tabs .sphinx-tabs-tab[name="${CSS.escape(name)}"]`;

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".tabbook-tabs .sphinx-tabs-tab").forEach((tab) => {
      tab.addEventListener("click", () => save(tab.getAttribute("name")));
    });
    const fromUrl = new URLSearchParams(window.location.search).get("fw");
    if (fromUrl) save(fromUrl);
    const chosen = fromUrl || load();
    if (chosen && document.querySelector(tabSelector(chosen))) {
      selectNamedTabs(chosen);
    }
  });
})();
