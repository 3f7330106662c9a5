"""Tab-set nodes for the two supported tab libraries (``tabs:`` in the tabbook config).

Each builder takes ``tabs`` = [(framework, label, content nodes)] in page order and a serial
number unique within the page, and returns the tab-set node. Tabs of the same framework are
synchronised across the page, remembered across pages and browser tabs, and can be chosen with
``?fw=<framework>`` (sphinx-design does this itself; for sphinx-tabs see
``static/tabbook-sphinx-tabs.js``).
"""
from __future__ import annotations

from docutils import nodes
from sphinx_design.shared import create_component
from sphinx_tabs.tabs import SphinxTabsPanel, SphinxTabsTab, SphinxTabsTablist

SYNC_GROUP = "fw"  # sphinx-design's URL parameter and storage key are named after the group

Tabs = list[tuple[str, str, list[nodes.Node]]]


def sphinx_design_tabset(tabs: Tabs, serial: int) -> nodes.Element:
    items = []
    for framework, label, content in tabs:
        title = nodes.rubric(label, "", nodes.Text(label), classes=["sd-tab-label"],
                             sync_group=SYNC_GROUP, sync_id=framework)
        body = create_component("tab-content", classes=["sd-tab-content"], children=content)
        items.append(create_component("tab-item", classes=["sd-tab-item"], children=[title, body]))
    return create_component("tab-set", classes=["sd-tab-set", "tabbook-tabs"], children=items)


def sphinx_tabs_tabset(tabs: Tabs, serial: int) -> nodes.Element:
    tablist = SphinxTabsTablist(role="tablist", **{"aria-label": "Frameworks"})
    panels = []
    for i, (framework, label, content) in enumerate(tabs):
        tab_id, panel_id = f"tabbook-tab-{serial}-{framework}", f"tabbook-panel-{serial}-{framework}"
        tablist += SphinxTabsTab(
            "", "", nodes.Text(label), ids=[tab_id], name=framework, role="tab",
            tabindex="0" if i == 0 else "-1", classes=["sphinx-tabs-tab", "group-tab"],
            **{"aria-selected": "true" if i == 0 else "false", "aria-controls": panel_id},
        )
        panel = SphinxTabsPanel(
            "", *content, ids=[panel_id], name=framework, role="tabpanel", tabindex="0",
            classes=["sphinx-tabs-panel", "group-tab"], **{"aria-labelledby": tab_id},
        )
        if i:
            panel["hidden"] = "true"
        panels.append(panel)
    return nodes.container("", tablist, *panels, type="tab-element",
                           classes=["sphinx-tabs", "tabbook-tabs"])


BACKENDS = {"sphinx-design": sphinx_design_tabset, "sphinx-tabs": sphinx_tabs_tabset}
