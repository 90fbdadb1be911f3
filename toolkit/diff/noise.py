"""Noise: what a reviewer need not read. The `diff.ignore` rules of toolkit.yaml drop fields
(or whole resources) before the comparison; the noise rules fold changes a reviewer need not
read one by one. Each is on by default, named in the
report with how many changes it folded, and switched off by name (`toolkit diff --no-fold
RULE`); folded changes count for `--exit-code` only with `--strict`.

The checksum annotations of a pod template are the opposite case: helm charts set them so
that a change of a ConfigMap restarts the pods, so they stay visible and are labelled as a
rollout.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from toolkit.config.checks import DiffIgnore
from toolkit.infra import kubeyaml
from toolkit.manifests.model import Resource, ResourceId


@dataclass(frozen=True)
class NoiseRule:
    """Changes that touch nothing but these label and annotation keys (anywhere a `metadata`
    holds them: the resource's own, a pod template's) are folded into one line per release."""

    name: str
    summary: str  # what the folded resources have in common, as the folded line says it
    keys: frozenset[str]


# What helm and the common chart helpers write for bookkeeping: a chart bump rewrites them on
# every resource of the release without changing what runs (selectors are left alone: a
# selector holding one of these is a real change, and an immutable field at that).
BOOKKEEPING = NoiseRule(
    name="bookkeeping",
    summary="changed only in chart bookkeeping labels",
    keys=frozenset({"helm.sh/chart", "app.kubernetes.io/version", "app.kubernetes.io/managed-by"}),
)
RULES: dict[str, NoiseRule] = {rule.name: rule for rule in (BOOKKEEPING,)}
DEFAULT_FOLDING: tuple[str, ...] = tuple(RULES)

# Helm's convention for annotations whose value is the hash of a config a pod reads.
CHECKSUM_PREFIX = "checksum/"


def _segments(pointer: str) -> list[str]:
    return [s.replace("~1", "/").replace("~0", "~") for s in pointer.split("/")[1:]]


def _metadata_key(pointer: str) -> tuple[list[str], str, str] | None:
    """(the segments before `metadata`, labels|annotations, the key) of a pointer to one label
    or annotation; None for any other pointer."""
    parts = _segments(pointer)
    if len(parts) < 3 or parts[-3] != "metadata" or parts[-2] not in ("labels", "annotations"):
        return None
    return parts[:-3], parts[-2], parts[-1]


def matches(rule: NoiseRule, pointer: str) -> bool:
    """Whether the change at `pointer` is one `rule` treats as noise."""
    found = _metadata_key(pointer)
    return found is not None and found[2] in rule.keys


def folding_rule(paths: Sequence[str], enabled: Collection[str]) -> str | None:
    """The name of the first enabled rule that every changed path falls under, if any."""
    if not paths:
        return None
    for name in enabled:
        rule = RULES[name]
        if all(matches(rule, path) for path in paths):
            return name
    return None


def is_noise(pointer: str, enabled: Collection[str]) -> bool:
    return any(matches(RULES[name], pointer) for name in enabled)


def rollout_checksums(paths: Sequence[str]) -> tuple[str, ...]:
    """The pod-template checksum annotations among the changed paths: each restarts the pods."""
    found = []
    for path in paths:
        key = _metadata_key(path)
        if (
            key is not None
            and key[0][-1:] == ["template"]
            and key[1] == "annotations"
            and key[2].startswith(CHECKSUM_PREFIX)
        ):
            found.append(key[2])
    return tuple(found)


# --- diff.ignore ----------------------------------------------------------------------------


def _matches(rule: DiffIgnore, rid: ResourceId) -> bool:
    return (
        (rule.group is None or rule.group == rid.group)
        and (rule.kind is None or rule.kind == rid.kind)
        and (rule.name is None or fnmatch.fnmatchcase(rid.name, rule.name))
        and (rule.namespace is None or fnmatch.fnmatchcase(rid.namespace, rule.namespace))
    )


def _drop(node: Any, pointer: Sequence[str]) -> None:
    """Remove what `pointer` names from `node` in place; a missing path is no error."""
    head, rest = pointer[0], pointer[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else [head] if head in node else []
    elif isinstance(node, list):
        if head == "*":
            keys = list(range(len(node)))
        elif head.isdigit() and int(head) < len(node):
            keys = [int(head)]
        else:
            keys = []
    else:
        return
    if not rest:
        for key in reversed(keys):
            del node[key]
        return
    for key in keys:
        _drop(node[key], rest)


def without_noise(
    resources: Iterable[Resource], rules: Sequence[DiffIgnore]
) -> dict[ResourceId, Resource]:
    """Resources by identity after the `diff.ignore` rules: matched fields dropped, and
    resources matched by a rule without pointers left out entirely."""
    kept: dict[ResourceId, Resource] = {}
    for resource in resources:
        matching = [rule for rule in rules if _matches(rule, resource.id)]
        if any(not rule.pointers for rule in matching):
            continue
        if matching:
            trimmed = copy.deepcopy(dict(resource.body))
            for rule in matching:
                for pointer in rule.pointers:
                    _drop(trimmed, pointer)
            resource = replace(resource, data=kubeyaml.dump(trimmed).encode())
        kept[resource.id] = resource
    return kept
