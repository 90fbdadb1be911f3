"""Values for one release.

A release's values are its ``values:`` files in order, then its ``set:`` mapping, merged
with Helm's rules for user values (see ``deep_merge``). Files ending ``.j2`` are Jinja2
templates, rendered in templates.py's sandbox and then read as YAML. A values template sees:

- ``env``: ``{"name": "dev", "kubeVersion": "1.33.0" or None, "apiVersions": [...]}``
- ``vars``: the environment's ``vars`` mapping from toolkit.yaml
- ``release``: ``{"name": "api", "namespace": "api"}``

so ``host: api.{{ vars.domain }}`` or ``{% if env.name == "production" %}`` work, and a
name that is not defined is an error rather than an empty string.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.config import setpaths
from toolkit.config.project import Environment
from toolkit.config.releases import Release
from toolkit.infra import runmemo, yamlfile
from toolkit.infra.errors import InputError

TEMPLATE_SUFFIX = ".j2"


@dataclass(frozen=True)
class MergedValues:
    """A release's values, and every file they were read from (templates' includes too)."""

    values: dict[str, Any]
    files: tuple[Path, ...]


def merged_values(release: Release, environment: Environment, *, root: Path) -> MergedValues:
    """``release.values`` in order, then each ``release.set`` path, merged as Helm merges
    ``-f`` files and ``--set``; templates rendered first."""
    context = template_context(release, environment)
    merged: dict[str, Any] = {}
    files: list[Path] = []
    for path in release.values:
        values, read = _values_file(path, context, root=root)
        merged = deep_merge(merged, values)
        files += read
    for key, value in release.set.items():
        try:
            steps = setpaths.parse(key)
            merged = setpaths.apply(merged, steps, copy.deepcopy(value), merge=deep_merge)
        except setpaths.SetPathError as exc:
            raise InputError(
                f"{release.location}: release '{release.name}': set: '{key}': {exc}"
            ) from None
    return MergedValues(merged, tuple(files))


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's merge of user values: maps merge key by key, recursively; any other value in
    ``override`` (a scalar, a list, or null) replaces the one in ``base``. A null is kept,
    as Helm keeps it, so that Helm then deletes that key from the chart's own defaults.
    The arguments are not modified (nested values are shared with them, not copied)."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def template_context(release: Release, environment: Environment) -> dict[str, Any]:
    """The variables a values template sees (a fresh copy: a template cannot change them)."""
    return {
        "env": {
            "name": environment.name,
            "kubeVersion": environment.kube_version,
            "apiVersions": list(environment.api_versions),
        },
        "vars": copy.deepcopy(dict(environment.vars)),
        "release": {"name": release.name, "namespace": release.namespace},
    }


def _values_file(
    path: Path, context: Mapping[str, Any], *, root: Path
) -> tuple[Mapping[str, Any], tuple[Path, ...]]:
    """A values file's mapping, and the files it was read from."""
    if path.name.endswith(TEMPLATE_SUFFIX):
        from toolkit.infra import templates  # Jinja2 loads only where a template is used

        name = f"{yamlfile.relative_name(path, root)} (rendered)"
        text, read = templates.render_file(path, context, root=root)
        return _top_mapping(yamlfile.load_text(text, name=name, last_key_wins=True)), read
    # A plain file reads the same for every release: parsed once per run, shared (merging
    # never modifies its arguments).
    values = runmemo.remembered(
        ("values", path),
        lambda: _top_mapping(yamlfile.load(path, root=root, last_key_wins=True)),
    )
    return values, (path,)


def _top_mapping(doc: yamlfile.YamlDocument) -> dict[str, Any]:
    if doc.data is not None and not isinstance(doc.data, dict):
        doc.fail(
            (),
            f"a values file holds a mapping at the top level (e.g. replicaCount: 2), found "
            f"{yamlfile.describe(doc.data)}",
        )
    return doc.mapping((), doc.data)
