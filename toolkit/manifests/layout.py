"""One resource per file: `<source>/<kind>-<name>.yaml`, qualified only where names would meet.

Each resource has a list of file names, from the plainest to the most qualified:

1. `<kind>-<name>`
2. `<kind>-<namespace>_<name>` (namespaced resources)
3. `<kind>.<group>-<name>` (resources outside the core group)
4. `<kind>.<group>-<namespace>_<name>`
5. `<kind>-<name>-<hash>`, the hash of the exact identity (names that differ only in case or
   in characters a file name cannot hold: `monitoring:view` and `monitoring-view`)

Every part is lower-cased and reduced to `[a-z0-9.-]`, so `_` only ever joins a namespace. Each
resource takes its first name; while two take the same path, both move on to their next one.
The result depends only on the set of resources, never on their order, and every set that can
exist in one cluster gets distinct paths.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from toolkit.infra.errors import InputError, RenderError
from toolkit.manifests.model import Resource, ResourceId

_UNSAFE = re.compile(r"[^a-z0-9.-]+")
_MAX_PART = 120
_MAX_STEM = 200


@dataclass(frozen=True)
class RenderedTree:
    """One environment's files as they go on the rendered branch (paths relative to `<env>/`)."""

    environment: str
    files: Mapping[str, bytes]
    resources: tuple[Resource, ...]
    notes: tuple[str, ...] = ()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def sanitise(name: str) -> str:
    """A file-name-safe form of a name: lower case, [a-z0-9.-], never a dot path."""
    cleaned = _UNSAFE.sub("-", name.lower()).strip("-.") or "unnamed"
    if len(cleaned) > _MAX_PART:
        cleaned = f"{cleaned[:_MAX_PART]}-{_digest(name)}"
    return cleaned


def _short(stem: str) -> str:
    return stem if len(stem) <= _MAX_STEM else f"{stem[: _MAX_STEM - 11]}-{_digest(stem)}"


def _names(resource: Resource) -> list[str]:
    """The resource's paths, plainest first (see the module's docstring)."""
    rid = resource.id
    kind, name = sanitise(rid.kind), sanitise(rid.name)
    qualified = f"{kind}.{sanitise(rid.group)}" if rid.group else kind
    namespaced = f"{sanitise(rid.namespace)}_{name}" if rid.namespace else name
    identity = "\0".join((rid.group, rid.kind, rid.namespace, rid.name))
    stems = [
        f"{kind}-{name}",
        f"{kind}-{namespaced}",
        f"{qualified}-{name}",
        f"{qualified}-{namespaced}",
        f"{kind}-{name}-{_digest(identity)}",
    ]
    source = sanitise(resource.source)
    paths: list[str] = []
    for stem in stems:
        path = f"{source}/{_short(stem)}.yaml"
        if path not in paths:
            paths.append(path)
    return paths


def paths(resources: Sequence[Resource], environment: str) -> dict[ResourceId, str]:
    """Each resource's path (resources have distinct identities and sources' own paths)."""
    names = {r.id: _names(r) for r in resources}
    step = dict.fromkeys(names, 0)
    while True:
        by_path: dict[str, list[ResourceId]] = defaultdict(list)
        for rid, choices in names.items():
            by_path[choices[step[rid]]].append(rid)
        clashes = [rids for rids in by_path.values() if len(rids) > 1]
        if not clashes:
            return {rid: choices[step[rid]] for rid, choices in names.items()}
        moved = False
        for rids in clashes:
            for rid in rids:
                if step[rid] + 1 < len(names[rid]):
                    step[rid] += 1
                    moved = True
        if not moved:  # two identities with one hash: never seen, but never an overwrite
            first, second = sorted(clashes[0])[:2]
            raise InputError(
                f"{environment}: {first} and {second} would both be written to "
                f"{environment}/{names[first][step[first]]}: rename one of them"
            )


def _merge_sources(
    resources: Sequence[Resource], environment: str
) -> tuple[list[Resource], list[str]]:
    """One resource per identity: copies from several sources that mean the same are kept once."""
    by_id: dict[ResourceId, list[Resource]] = defaultdict(list)
    for resource in resources:
        by_id[resource.id].append(resource)
    kept, notes = [], []
    for rid, copies in by_id.items():
        first = copies[0]
        for other in copies[1:]:
            if other.source == first.source:
                raise RenderError(
                    f"{environment}: {first.source} renders {rid} twice: "
                    "a chart or kustomization emits the same resource more than once"
                )
            if other.data != first.data and other.body != first.body:
                raise InputError(
                    f"{environment}: {rid} is rendered by both {first.source!r} and "
                    f"{other.source!r} with different content: remove it from one of them"
                )
        if len(copies) > 1:
            sources = ", ".join(c.source for c in copies)
            notes.append(f"{environment}: {rid} is rendered identically by {sources}; kept once")
        kept.append(first)
    return kept, notes


def layout(environment: str, resources: Sequence[Resource]) -> RenderedTree:
    """Lay resources out one per file (see the module's docstring)."""
    ordered = sorted(resources, key=lambda r: (r.source, r.id))
    kept, notes = _merge_sources(ordered, environment)
    where = paths(kept, environment)
    files = {where[r.id]: r.data for r in kept}
    return RenderedTree(environment, dict(sorted(files.items())), tuple(kept), tuple(notes))
