"""Names in the configuration files (environments, releases, namespaces, kinds): the rules they
follow and the failures that name the line."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from toolkit.infra.yamlfile import KeyPath, YamlDocument, describe

_GROUP_KIND = re.compile(
    r"(?P<kind>[A-Za-z][A-Za-z0-9]*)(?:\.(?P<group>[a-z0-9]([-a-z0-9.]*[a-z0-9])?))?"
)


class NameRule(NamedTuple):
    pattern: re.Pattern[str]
    limit: int
    description: str


def valid_name(doc: YamlDocument, path: KeyPath, raw: Any, rule: NameRule, what: str) -> str:
    """``raw`` when it is a string that ``rule`` allows; otherwise a failure at ``path``."""
    if not isinstance(raw, str) or not rule.pattern.fullmatch(raw) or len(raw) > rule.limit:
        doc.fail(path, f"{what} {describe(raw)} is not valid: use {rule.description}")
    return raw


def refuse_duplicates(doc: YamlDocument, path: KeyPath, names: list[str], what: str) -> None:
    """Fail at the second of any two equal ``names`` listed under ``path``."""
    for index, name in enumerate(names):
        first = names.index(name)
        if first != index:
            doc.fail(
                (*path, index),
                f"duplicate {what} name '{name}' (first defined on line "
                f"{doc.line_of(*path, first)}); names must be unique",
            )


def cluster_scoped_kinds(doc: YamlDocument, raw: Any) -> frozenset[tuple[str, str]]:
    path: KeyPath = ("clusterScopedKinds",)
    found = set()
    for index, text in enumerate(doc.strings(path, raw)):
        match = _GROUP_KIND.fullmatch(text)
        if match is None:
            doc.fail(
                (*path, index),
                f"clusterScopedKinds: '{text}' is not a kind with its API group; write "
                "Kind.group as kubectl does, e.g. ClusterIssuer.cert-manager.io",
            )
        found.add((match["group"] or "", match["kind"]))
    return frozenset(found)
