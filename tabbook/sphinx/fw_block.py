"""The ``fw-block`` directive: prose shown only in the tabs of the named frameworks.

````md
```{fw-block} mxnet, tensorflow
Only MXNet and TensorFlow readers see this.
```
````
Names are split on commas and/or spaces (:func:`tabbook.markup.split_names`, the engine's
rule), and the fence may be of backticks, tildes or colons. The content is parsed as usual into an :class:`fw_block` node; :mod:`.tabsets` moves it into
the tab(s) of its framework(s), checking the names against the page's frameworks.
"""
from __future__ import annotations

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from ..markup import split_names


class fw_block(nodes.General, nodes.Element):  # noqa: N801 (docutils node naming)
    """Framework-only content; ``frameworks`` lists the names given to the directive."""


class FwBlockDirective(SphinxDirective):
    required_arguments = 1
    final_argument_whitespace = True
    has_content = True

    def run(self) -> list[nodes.Node]:
        self.assert_has_content()
        node = fw_block(frameworks=split_names(self.arguments[0]))
        self.set_source_info(node)
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


def setup(app: Sphinx) -> None:
    app.add_directive("fw-block", FwBlockDirective)
    app.add_node(fw_block)
