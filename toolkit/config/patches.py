"""A release's post-render patches (`patches:` in releases.yaml): Kustomize patches applied to
what helm printed, written exactly as a kustomization's `patches:` entries are, a strategic
merge or JSON 6902 patch inline (`patch:`) or in a file (`path:`), with an optional `target:`.
The real kustomize applies them (see render/postrender.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.infra.paths import safe_path
from toolkit.infra.yamlfile import KeyPath, YamlDocument, describe

_PATCH_KEYS = ("patch", "path", "target", "options")
_TARGET_KEYS = ("group", "version", "kind", "name", "namespace", "labelSelector",
                "annotationSelector")  # fmt: skip
_OPTION_KEYS = ("allowNameChange", "allowKindChange")


@dataclass(frozen=True)
class ReleasePatch:
    """One patch: its text inline or the file holding it, and what it targets."""

    patch: str | None
    path: Path | None
    target: tuple[tuple[str, str], ...]  # kustomize's selector fields, in the order written
    options: tuple[tuple[str, bool], ...]


def release_patches(
    doc: YamlDocument, path: KeyPath, raw: Any, root: Path, base: Path, what: str
) -> tuple[ReleasePatch, ...]:
    """`patches:` of a release; paths are relative to releases.yaml and stay in the repository."""
    return tuple(
        _patch(doc, (*path, index), item, root, base, what)
        for index, item in enumerate(doc.sequence(path, raw))
    )


def _patch(
    doc: YamlDocument, path: KeyPath, raw: Any, root: Path, base: Path, what: str
) -> ReleasePatch:
    fields = doc.mapping(path, raw, allowed=_PATCH_KEYS)
    inline, relative = fields.get("patch"), fields.get("path")
    if (inline is None) == (relative is None):
        doc.fail(path, f"{what}: a patch needs exactly one of patch: (inline) or path: (a file)")
    for key, value in (("patch", inline), ("path", relative)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            doc.fail((*path, key), f"{what}: {key} must be a string, found {describe(value)}")
    file = None
    if relative is not None:
        file = safe_path(root, base, relative, where=f"{doc.where(*path, 'path')}: {what}")
        if not file.is_file():
            doc.fail((*path, "path"), f"{what}: patch file {relative} does not exist")
    target = doc.mapping((*path, "target"), fields.get("target"), allowed=_TARGET_KEYS)
    for key, value in target.items():
        if not isinstance(value, str):
            doc.fail((*path, "target", key), f"{what}: target.{key} must be a string")
    options = doc.mapping((*path, "options"), fields.get("options"), allowed=_OPTION_KEYS)
    for key, value in options.items():
        if not isinstance(value, bool):
            doc.fail((*path, "options", key), f"{what}: options.{key} must be true or false")
    return ReleasePatch(inline, file, tuple(target.items()), tuple(options.items()))
