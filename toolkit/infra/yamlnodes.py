"""A file's YAML as nodes: composing it with the checks every input file gets, and the lines
its entries were written on. The one part of reading a file that needs PyYAML (yamlfile.py
loads it only when a document must really be parsed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from toolkit.infra import kubeyaml
from toolkit.infra.errors import InputError

# Where a document's entries were written, without its nodes: [line, children], children a
# dict by key text (a mapping, its first entry of each key), a list (a sequence) or None.
LineTree = list[Any]


def compose(text: str, *, display: str, last_key_wins: bool) -> tuple[yaml.Node | None, Any]:
    """The one document in `text`: its node and its data as Kubernetes reads it;
    ``InputError("<display>:<line>: <problem>")`` on anything the checks refuse."""
    try:
        kubeyaml.check_events(text, max_documents=1)
        node = kubeyaml.compose(text)
        if node is not None and not last_key_wins:
            _check_duplicate_keys(node, display)
        return node, kubeyaml.value_of(node)
    except kubeyaml.KubeYamlError as exc:
        where = display if exc.line is None else f"{display}:{exc.line}"
        raise InputError(f"{where}: {exc.message}") from None


def _check_duplicate_keys(root: yaml.Node, display: str) -> None:
    """Keys are compared as Kubernetes names them: `y` and `true`, `1` and `"1"` are the same."""
    pending = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                pending.extend((key, value))
                if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                    _refuse_duplicate(seen, key, display)


def _refuse_duplicate(seen: dict[str, int], key: yaml.ScalarNode, display: str) -> None:
    line = key.start_mark.line + 1
    name = kubeyaml.key_of(key)
    first = seen.get(name)
    if first is not None:
        raise InputError(
            f"{display}:{line}: duplicate key '{key.value}' (first on line {first}); "
            "remove one of them"
        )
    seen[name] = line


def line_in(node: yaml.Node, key_path: Sequence[str | int]) -> int:
    """The 1-based line of the entry at ``key_path`` below a composed ``node`` (a mapping
    entry's key line, a list item's first line), or of its nearest ancestor that is there."""
    line: int = node.start_mark.line + 1
    for key in key_path:
        entry = _child(node, key)
        if entry is None:
            break
        node, line = entry
    return line


def _child(node: yaml.Node, key: str | int) -> tuple[yaml.Node, int] | None:
    if isinstance(node, yaml.SequenceNode):
        if isinstance(key, int) and 0 <= key < len(node.value):
            item: yaml.Node = node.value[key]
            return item, item.start_mark.line + 1
        return None
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(key):
                return value_node, key_node.start_mark.line + 1
    return None


def line_tree(node: yaml.Node, line: int | None = None) -> LineTree:
    """The lines ``line_in`` finds below `node`, as plain lists and dicts (JSON) that
    ``yamlfile.line_in_tree`` reads the same way."""
    here = node.start_mark.line + 1 if line is None else line
    if isinstance(node, yaml.SequenceNode):
        return [here, [line_tree(item) for item in node.value]]
    if isinstance(node, yaml.MappingNode):
        children: dict[str, LineTree] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value not in children:
                children[key_node.value] = line_tree(value_node, key_node.start_mark.line + 1)
        return [here, children]
    return [here, None]
