"""The YAML files promotion edits: parsed with positions, entries of a list by name, and an
edit checked to read back as exactly the data intended (every other byte kept)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode

from toolkit.config.project import Config
from toolkit.infra import runmemo, yamledit, yamlfile
from toolkit.infra.errors import InputError
from toolkit.infra.paths import refuse_link_out

DELETE = object()  # set_in's value that removes the key


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML file: its text, data, node tree (with positions) and display name."""

    text: str
    data: Any
    node: Node | None
    name: str


def parse(raw: bytes, name: str) -> YamlDoc:
    """`raw` parsed, once per run (`toolkit status` plans a promotion into each environment and
    one out of it: both read its files)."""
    return runmemo.remembered(("promoted yaml", raw, name), lambda: _parse(raw, name))


def _parse(raw: bytes, name: str) -> YamlDoc:
    doc = yamlfile.load_text(raw, name=name)  # size, UTF-8, aliases, duplicate keys
    text = raw.decode("utf-8")
    return YamlDoc(text, doc.data, yamledit.compose(text, name=name), name)


def read_target(config: Config, path: Path) -> YamlDoc | None:
    if not path.is_file():
        return None
    # Edited and written back in place: a link's target would come into the repository.
    refuse_link_out(path, [config.root], root=config.root, reader="promote")
    text = yamlfile.read_text(path, root=config.root)
    return parse(text.encode(), yamlfile.relative_name(path, config.root))


def items_by_name(doc: YamlDoc | None, key: str, what: str) -> dict[str, MappingNode]:
    """The mappings of the top-level list ``key`` by their ``name`` (the first of duplicates)."""
    if doc is None:
        return {}
    top = doc.node
    if top is not None and not isinstance(top, MappingNode):
        raise InputError(f"{doc.name}:1: expected a mapping at the top level")
    entry = yamledit.get(top, key)
    found: dict[str, MappingNode] = {}
    for item in yamledit.items(entry[1]) if entry else []:
        name = yamledit.scalar(item, "name")
        if not isinstance(item, MappingNode) or name is None:
            raise InputError(
                f"{doc.name}:{yamledit.line_of(item)}: each entry of {key}: needs a name "
                f"(a {what} without one cannot be promoted); fix the file"
            )
        found.setdefault(name, item)
    return found


def scalar_field(doc: YamlDoc, node: MappingNode, key: str) -> str | None:
    entry = yamledit.get(node, key)
    if entry is not None and not isinstance(entry[1], ScalarNode):
        raise InputError(f"{doc.name}:{yamledit.line_of(entry[0])}: {key} must be a string")
    return yamledit.scalar(node, key)


def edited(doc: YamlDoc, edits: list[yamledit.Edit], expected: Any) -> bytes:
    """The edited text, checked to read back as exactly the data intended."""
    text = yamledit.apply(doc.text, edits)
    try:
        same = yamlfile.load_text(text, name=doc.name).data == expected
    except InputError:
        same = False
    if not same:
        raise InputError(
            f"{doc.name}: could not edit this file without changing more than intended; "
            "make the change by hand (nothing was written)"
        )
    return text.encode()


def set_in(data: Any, path: Sequence[str | int], value: object) -> None:
    for key in path[:-1]:
        data = data[key]
    if value is DELETE:
        data.pop(path[-1], None)
    else:
        data[path[-1]] = value


def index_of(doc: YamlDoc, key: str, target: MappingNode) -> int:
    """The position of ``target`` in the top-level list ``key`` (duplicates count)."""
    entry = yamledit.get(doc.node, key)
    assert entry is not None
    return next(i for i, item in enumerate(yamledit.items(entry[1])) if item is target)
