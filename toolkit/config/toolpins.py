"""toolkit.yaml's `tools:`: the helm and kustomize versions a repository pins. Loaded only for a
configuration that pins one (see `project._tool_pins`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.config.project import Location
from toolkit.infra.yamlfile import KeyPath, YamlDocument, describe

ANY_VERSION = "any"
_TOOL_VERSION = re.compile(r"v?([0-9]+\.[0-9]+\.[0-9]+)")


@dataclass(frozen=True)
class ToolPin:
    """The version of helm or kustomize that `tools:` in toolkit.yaml pins (no `v`), and where
    (kustomize's own version, also when kubectl runs it)."""

    name: str
    version: str
    location: Location


def tool_pins(doc: YamlDocument, listed: Mapping[str, Any], root: Path) -> dict[str, ToolPin]:
    """The pins of `tools:` (`listed`, its keys checked), a tool set to "any" left out."""
    pins = {}
    for name, value in listed.items():
        path: KeyPath = ("tools", name)
        match = _TOOL_VERSION.fullmatch(value) if isinstance(value, str) else None
        if value == ANY_VERSION:
            continue
        if match is None:
            example = "3.18.0" if name == "helm" else "5.6.0"
            doc.fail(
                path,
                f'tools.{name} must be a version such as "{example}" or "{ANY_VERSION}", '
                f"found {describe(value)}; quote it",
            )
        pins[name] = ToolPin(name, match[1], Location(doc.path, doc.line_of(*path), root))
    return pins
