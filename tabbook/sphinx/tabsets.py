"""The transform that puts framework content into tab sets.

A *framework item* is a code cell of the merged notebook whose metadata names one framework
(``tabbook.framework``) or an :class:`~.fw_block.fw_block`. Each run of consecutive sibling items
becomes one tab set with one tab per framework of the page, in page order; a framework with
nothing in the run gets a "No <Label> code for this step." panel, so a reader's chosen framework
is never shown another framework's code. Shared cells stay outside the tab sets.
"""
from __future__ import annotations

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

from . import settings
from .backends import BACKENDS
from .fw_block import fw_block

logger = logging.getLogger(__name__)


def item_frameworks(node: nodes.Node) -> list[str]:
    """The frameworks a node belongs to; empty if it is not a framework item."""
    if isinstance(node, fw_block):
        return node["frameworks"]
    if isinstance(node, nodes.container) and node.get("nb_element") == "cell_code":
        framework = node.get("cell_metadata", {}).get("tabbook", {}).get("framework")
        return [framework] if framework else []
    return []


def runs(items: list[nodes.Element]) -> list[list[nodes.Element]]:
    """Split items (in document order) into runs of consecutive siblings."""
    grouped: list[list[nodes.Element]] = []
    for item in items:
        previous = grouped[-1][-1] if grouped else None
        if previous is not None and previous.parent is item.parent and (
            item.parent.index(previous) + 1 == item.parent.index(item)
        ):
            grouped[-1].append(item)
        else:
            grouped.append([item])
    return grouped


def missing_panel(label: str) -> nodes.Element:
    text = f"No {label} code for this step."
    return nodes.paragraph(text, text, classes=["tabbook-missing"])


class BuildTabSets(SphinxTransform):
    default_priority = 500

    def apply(self, **kwargs) -> None:
        items = [n for n in self.document.findall(nodes.Element) if item_frameworks(n)]
        if not items:
            return
        build = BACKENDS[settings.get(self.app).book.tabs]
        for run in runs([n for n in items if not self._nested(n)]):
            parent, index = run[0].parent, run[0].parent.index(run[0])
            for node in run:
                parent.remove(node)
            tabset = build(self._tabs(run), self.env.new_serialno("tabbook-tabset"))
            tabset.source, tabset.line = run[0].source, run[0].line
            parent.insert(index, tabset)

    def _tabs(self, run: list[nodes.Element]) -> list[tuple[str, str, list[nodes.Node]]]:
        """(framework, label, content) for each framework of the page, in page order."""
        config = settings.get(self.app).book
        page = self.env.metadata[self.env.docname].get("tabbook_frameworks") or []
        content: dict[str, list[nodes.Node]] = {name: [] for name in page}
        for node in run:
            for name in item_frameworks(node):
                if name not in content:
                    logger.error(f"framework {name!r} is not one of this page's frameworks {page} "
                                 "(front matter `tabbook: frameworks:`)",
                                 location=node, type="tabbook", subtype="framework")
                elif isinstance(node, fw_block):
                    content[name].extend(child.deepcopy() for child in node.children)
                else:
                    content[name].append(node)
        return [(name, config.label(name), found or [missing_panel(config.label(name))])
                for name, found in content.items()]

    def _nested(self, node: nodes.Element) -> bool:
        """A framework item inside an fw-block is an error: its content is dropped."""
        ancestor = node.parent
        while ancestor is not None and not isinstance(ancestor, fw_block):
            ancestor = ancestor.parent
        if ancestor is None:
            return False
        logger.error("an fw-block cannot contain framework content", location=node,
                     type="tabbook", subtype="framework")
        node.parent.remove(node)
        return True


def setup(app: Sphinx) -> None:
    app.add_transform(BuildTabSets)
