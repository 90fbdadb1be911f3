"""Promoting images: the `images:` entries of DST's kustomization take SRC's `newName`, `newTag`
and `digest`, their absence included, edited in place."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path

from yaml.nodes import MappingNode, ScalarNode

from toolkit.config.project import Config, Environment
from toolkit.config.releases import KUSTOMIZATION_FILES
from toolkit.infra import yamledit, yamlfile
from toolkit.infra.errors import InputError
from toolkit.promote.changes import FieldChange, ImagePromotion, PromotionStatus
from toolkit.promote.sourcefiles import SourceEnvironment
from toolkit.promote.yamldocs import (
    DELETE,
    YamlDoc,
    edited,
    index_of,
    items_by_name,
    parse,
    read_target,
    scalar_field,
    set_in,
)

IMAGE_FIELDS = ("newName", "newTag", "digest")


def _kustomization_name(exists: Callable[[str], bool]) -> str | None:
    return next((name for name in KUSTOMIZATION_FILES if exists(name)), None)


def promote_images(
    config: Config,
    source: SourceEnvironment,
    dst: Environment,
    only: set[str],
    writes: dict[Path, bytes | None],
) -> tuple[list[str], tuple[ImagePromotion, ...]]:
    """(SRC's image names; what promoting them into DST does), DST's edited file in ``writes``."""
    src_name = _kustomization_name(lambda name: source.read(name) is not None)
    if src_name is None:
        return [], ()
    src_raw = source.read(src_name)
    assert src_raw is not None
    src_doc = parse(src_raw, source.display(src_name))
    src_items = items_by_name(src_doc, "images", "image")
    dst_name = _kustomization_name(lambda name: (dst.directory / name).is_file())
    dst_path = dst.directory / (dst_name or src_name)
    dst_doc = read_target(config, dst_path)
    dst_items = items_by_name(dst_doc, "images", "image")
    results = []
    edits: list[yamledit.Edit] = []
    expected = copy.deepcopy(dst_doc.data) if dst_doc else None
    for name, item in src_items.items():
        if only and name not in only:
            continue
        target = dst_items.get(name)
        if target is None or dst_doc is None:
            where = yamlfile.relative_name(dst_path, config.root)
            reason = f"{where} has no image '{name}' in images:"
            results.append(ImagePromotion(name, PromotionStatus.NOT_PROMOTED, reason=reason))
            continue
        wanted = {key: scalar_field(src_doc, item, key) for key in IMAGE_FIELDS}
        changes, image_edits = edit_image(dst_doc.text, dst_doc.name, target, wanted)
        edits += image_edits
        index = index_of(dst_doc, "images", target)
        for change in changes:
            value = DELETE if change.after is None else change.after
            set_in(expected, ("images", index, change.field), value)
        results.append(
            ImagePromotion(
                name,
                PromotionStatus.PROMOTED if changes else PromotionStatus.UNCHANGED,
                tuple(changes),
            )
        )
    if edits:
        assert dst_doc is not None
        writes[dst_path] = edited(dst_doc, edits, expected)
    return list(src_items), tuple(results)


def source_images(source: SourceEnvironment) -> dict[str, dict[str, str | None]]:
    """The entries of SRC's `images:` by name, each with its IMAGE_FIELDS (None: absent)."""
    name = _kustomization_name(lambda name: source.read(name) is not None)
    raw = source.read(name) if name else None
    return _image_fields(None if raw is None else parse(raw, source.display(str(name))))


def work_tree_images(config: Config, env: Environment) -> dict[str, dict[str, str | None]]:
    """The entries of the work tree's `images:` in ``env``, as `source_images` gives them."""
    name = _kustomization_name(lambda name: (env.directory / name).is_file())
    return _image_fields(read_target(config, env.directory / name) if name else None)


def _image_fields(doc: YamlDoc | None) -> dict[str, dict[str, str | None]]:
    return {
        name: {key: scalar_field(doc, item, key) for key in IMAGE_FIELDS}
        for name, item in items_by_name(doc, "images", "image").items()
        if doc is not None
    }


def edit_image(
    text: str, name: str, target: MappingNode, wanted: Mapping[str, str | None]
) -> tuple[list[FieldChange], list[yamledit.Edit]]:
    """What gives DST's image entry ``target`` exactly the fields ``wanted`` (None: absent)."""
    for key, value in yamledit.entries(target):
        if key.value in IMAGE_FIELDS and not isinstance(value, ScalarNode):
            raise InputError(f"{name}:{yamledit.line_of(key)}: {key.value} must be a string")
    present = {key: yamledit.scalar(target, key) for key in IMAGE_FIELDS}
    changes = [
        FieldChange(key, present[key], wanted.get(key))
        for key in IMAGE_FIELDS
        if present[key] != wanted.get(key)
    ]
    where = f"{name}:{yamledit.line_of(target)}"
    gone = [c.field for c in changes if c.after is None]
    edits = yamledit.remove_keys(text, target, gone, where=where) if gone else []
    # A new field goes after the nearest field before it in kustomize's order that stays.
    kept = ["name", *(k for k in IMAGE_FIELDS if present[k] is not None and k not in gone)]
    order = ("name", *IMAGE_FIELDS)
    for change in changes:
        if change.after is None:
            continue
        if yamledit.get(target, change.field) is not None:  # written, perhaps as null
            edits.append(yamledit.set_value(text, target, change.field, change.after))
            continue
        anchor = [k for k in order[: order.index(change.field)] if k in kept][-1]
        edits.append(
            yamledit.add_key(
                text, target, change.field, change.after, after=anchor, style=yamledit.PLAIN
            )
        )
    return changes, edits
