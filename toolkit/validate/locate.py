"""The line of a field in a resource's file, for findings that point at it."""

from __future__ import annotations

import yaml

from toolkit.infra import kubeyaml
from toolkit.infra.yamlnodes import line_in


def line_of(text: str, path: tuple[str | int, ...]) -> int | None:
    """The 1-based line where `path` is written in the YAML `text`, or of its nearest ancestor
    that is there; None when the text does not compose."""
    try:
        node = yaml.compose(text, Loader=kubeyaml.SAFE_LOADER)
    except yaml.YAMLError:
        return None
    return None if node is None else line_in(node, path)
