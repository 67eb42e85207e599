"""YAML that cannot grow past its bounds (pure): a profile from a ConfigMap is anyone's text.

PyYAML's safe loader shares an aliased node between its uses, so loading is linear, but whatever walks the result
afterwards (str() of a list, a profile's expansion) meets every alias in full: a 486-byte document of nested
aliases became 14 MB of text, eight levels ~1.4 GB. Here a document is refused before anything walks it when it is
longer than MAX_BYTES, uses more than MAX_ALIASES aliases, or would, expanded, hold more than MAX_NODES nodes
(counted on the composed graph, each node's expanded size once: no expansion is made to count it). Messages name
the limit and never quote the text.
"""

import re
from typing import Any

import yaml

MAX_BYTES = 256 * 1024  # the built-in profiles are 20-60 KB
MAX_ALIASES = 64
MAX_NODES = 200_000  # the largest built-in profile composes to about 15,000


class BoundError(ValueError):
    """The document breaks a bound; the message names which, never the text."""


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise BoundError(f"more than {MAX_ALIASES} YAML aliases")
        return super().compose_node(parent, index)


def _expanded_size(root: yaml.Node) -> int:
    """Nodes in the document with every alias expanded, computed once per node (post-order, no recursion)."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()  # nodes whose children are being counted: meeting one again is a cycle
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if not children_done and id(node) in open_:
            raise BoundError("a recursive YAML alias")
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if children_done or not children:
            open_.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[id(node)] > MAX_NODES:
                raise BoundError(f"more than {MAX_NODES} YAML nodes with its aliases expanded")
            continue
        open_.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def load(text: str) -> Any:
    """The document's value, or BoundError (a bound broken) or yaml.YAMLError (not YAML)."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise BoundError(f"longer than {MAX_BYTES // 1024} KiB")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def redacted(message: str) -> str:
    """A profile error about someone's text without any value quoted from it (a check's status is read by more
    people than its ConfigMap): what the problems quote ('ec2:Foo', ['x']) becomes "(a value)"; places stay, and so
    do the catalog's suggestions ("did you mean 'iam:PassRole'": IAM's names, not the text's)."""
    def hide(found: re.Match[str]) -> str:
        return found.group(0) if message[:found.start()].endswith("did you mean ") else "(a value)"

    return _QUOTED.sub(hide, message)
