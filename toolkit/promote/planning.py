"""Promotion: make DST run what SRC runs (chart versions, image tags, chosen files), nothing else.

A plan is worked out first, reading SRC (work tree or a ref) and DST (work tree) without
writing anything; applying it writes every DST file or none; committing it records the
promotion with each change from -> to.
"""

from __future__ import annotations

import copy
import dataclasses
import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from toolkit.charts import semver
from toolkit.charts.lockfile import Lock, dump_lock, lock_path, parse_lock, read_lock
from toolkit.config.project import Config, Environment
from toolkit.config.releases import KUSTOMIZATION_FILES, LOCK_FILE, RELEASES_FILE
from toolkit.infra import git, yamledit, yamlfile
from toolkit.infra.errors import InputError
from toolkit.infra.paths import refuse_link_out
from toolkit.promote.sourcefiles import (
    FilePromotion,
    SourceEnvironment,
    open_source,
    promote_files,
)


class PromotionStatus(str, Enum):
    """What a promotion does with one release or image of SRC."""

    PROMOTED = "promoted"
    UNCHANGED = "unchanged"  # DST runs it already
    NOT_PROMOTED = "not promoted"  # it cannot be (the reason says why)

    def __str__(self) -> str:
        return self.value


IMAGE_FIELDS = ("newName", "newTag", "digest")
_DELETE = object()


@dataclass(frozen=True)
class ReleasePromotion:
    name: str
    status: PromotionStatus
    before: str | None  # what DST runs now: its locked version, else its version constraint
    after: str | None  # SRC's locked version
    reason: str = ""
    constraint: str | None = None  # DST's `version:` before, when promotion changes it


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ImagePromotion:
    name: str
    status: PromotionStatus
    changes: tuple[FieldChange, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Plan:
    """What promoting SRC into DST changes, and the bytes each DST file will hold."""

    source: SourceEnvironment
    target: Environment
    releases: tuple[ReleasePromotion, ...]
    images: tuple[ImagePromotion, ...]
    files: tuple[FilePromotion, ...]
    files_skipped: bool  # --only: promotion.copy files are left alone
    writes: Mapping[Path, bytes | None] = field(hash=False)
    modes: Mapping[Path, int] = field(hash=False)

    @property
    def changes_anything(self) -> bool:
        return bool(self.writes)


# --- the plan -------------------------------------------------------------------------------


def plan_promotion(
    config: Config,
    source_name: str,
    target_name: str,
    *,
    ref: str | None = None,
    only: Sequence[str] = (),
    force: bool = False,
    allow_dirty: bool = False,
) -> Plan:
    """Work out the promotion of ``source_name`` into ``target_name``; write nothing."""
    src_env, dst_env = config.environment(source_name), config.environment(target_name)
    _check_order(config, src_env, dst_env, force=force)
    source = open_source(config, src_env, ref)
    _refuse_dirty(config, dst_env, allow_dirty=allow_dirty)
    writes: dict[Path, bytes | None] = {}
    modes: dict[Path, int] = {}
    release_names, releases = _promote_releases(config, source, dst_env, set(only), writes)
    image_names, images = _promote_images(config, source, dst_env, set(only), writes)
    _refuse_unknown_only(source, only, release_names + image_names)
    files: tuple[FilePromotion, ...] = ()
    if not only:
        files = promote_files(config, source, dst_env, writes, modes)
    return Plan(
        source,
        dst_env,
        releases,
        images,
        files,
        files_skipped=bool(only),
        writes=MappingProxyType(writes),
        modes=MappingProxyType(modes),
    )


def _check_order(config: Config, src: Environment, dst: Environment, *, force: bool) -> None:
    names = [env.name for env in config.environments]
    i, j = names.index(src.name), names.index(dst.name)
    if i == j:
        raise InputError(
            f"SRC and DST are both '{src.name}': promote from one environment into another, "
            f"e.g. toolkit promote {names[0]} {names[min(1, len(names) - 1)]}"
        )
    if force or j == i + 1:
        return
    order = " -> ".join(names)
    if j < i:
        raise InputError(
            f"'{dst.name}' comes before '{src.name}' in toolkit.yaml ({order}): promoting "
            "backwards needs --force (for a rollback, prefer promoting a tagged state with --ref)"
        )
    skipped = ", ".join(names[i + 1 : j])
    raise InputError(
        f"promoting {src.name} -> {dst.name} skips {skipped} (toolkit.yaml orders {order}): "
        f"promote through each stage in turn, or pass --force"
    )


def _refuse_dirty(config: Config, dst: Environment, *, allow_dirty: bool) -> None:
    """Uncommitted edits in DST could be overwritten, and --commit would sweep them in."""
    if allow_dirty:
        return
    prefix = git.show_prefix(config.root)
    directory = dst.directory.relative_to(config.root).as_posix()
    inside = f"{prefix}{directory}/"
    dirty = [p.removeprefix(prefix) for p in git.changed_paths(config.root) if p.startswith(inside)]
    if dirty:
        listed = "\n".join(f"    {path}" for path in dirty[:20])
        raise InputError(
            f"{directory}/ has uncommitted changes that promotion could overwrite:\n{listed}\n"
            "commit or stash them first, or pass --allow-dirty to promote over them"
        )


def _refuse_unknown_only(source: SourceEnvironment, only: Sequence[str], known: list[str]) -> None:
    for name in only:
        if name not in known:
            listed = ", ".join(known) or "none"
            raise InputError(
                f"--only {name}: {source.label} has no release or image '{name}'"
                f"{yamlfile.did_you_mean(name, known)}; its releases and images: {listed}"
            )


# --- YAML files -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Yaml:
    """A parsed YAML file: its text, data, node tree (with positions) and display name."""

    text: str
    data: Any
    node: Node | None
    name: str


def _parse(raw: bytes, name: str) -> _Yaml:
    doc = yamlfile.load_text(raw, name=name)  # size, UTF-8, aliases, duplicate keys
    text = raw.decode("utf-8")
    return _Yaml(text, doc.data, yamledit.compose(text, name=name), name)


def _read_target(config: Config, path: Path) -> _Yaml | None:
    if not path.is_file():
        return None
    # Edited and written back in place: a link's target would come into the repository.
    refuse_link_out(path, [config.root], root=config.root, reader="promote")
    text = yamlfile.read_text(path, root=config.root)
    return _parse(text.encode(), yamlfile.relative_name(path, config.root))


def _items_by_name(doc: _Yaml | None, key: str, what: str) -> dict[str, MappingNode]:
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


def _field(doc: _Yaml, node: MappingNode, key: str) -> str | None:
    entry = yamledit.get(node, key)
    if entry is not None and not isinstance(entry[1], ScalarNode):
        raise InputError(f"{doc.name}:{yamledit.line_of(entry[0])}: {key} must be a string")
    return yamledit.scalar(node, key)


def _edited(doc: _Yaml, edits: list[yamledit.Edit], expected: Any) -> bytes:
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


def _set_in(data: Any, path: Sequence[str | int], value: object) -> None:
    for key in path[:-1]:
        data = data[key]
    if value is _DELETE:
        data.pop(path[-1], None)
    else:
        data[path[-1]] = value


# --- releases -------------------------------------------------------------------------------


def _chart_identity(config: Config, directory: str, chart: str) -> str:
    """One spelling per chart, so SRC's and DST's references compare."""
    if chart.startswith("oci://"):
        return chart.rstrip("/")
    alias, _, name = chart.partition("/")
    if name and "/" not in name and alias in config.repositories:
        return f"{config.repositories[alias]}/{name}"
    return posixpath.normpath(posixpath.join(directory, chart))


@dataclass(frozen=True)
class _Candidate:
    """A release in both environments, with the same chart: its version can be promoted."""

    name: str
    constraint: str | None  # SRC's version constraint, which SRC's lock must have been made for
    target: MappingNode  # DST's entry


def _promote_releases(
    config: Config,
    source: SourceEnvironment,
    dst: Environment,
    only: set[str],
    writes: dict[Path, bytes | None],
) -> tuple[list[str], tuple[ReleasePromotion, ...]]:
    raw = source.read(RELEASES_FILE)
    src_doc = None if raw is None else _parse(raw, source.display(RELEASES_FILE))
    src_items = _items_by_name(src_doc, "releases", "release")
    dst_path = dst.directory / RELEASES_FILE
    dst_doc = _read_target(config, dst_path)
    results: dict[str, ReleasePromotion] = {}
    candidates = []
    for name, item in src_items.items():
        if only and name not in only:
            continue
        assert src_doc is not None
        reason = _unpromotable(config, source, src_doc, item, dst_doc, dst_path)
        if reason:
            results[name] = ReleasePromotion(name, PromotionStatus.NOT_PROMOTED, None, None, reason)
        else:
            assert dst_doc is not None
            target = _items_by_name(dst_doc, "releases", "release")[name]
            candidates.append(_Candidate(name, _field(src_doc, item, "version"), target))
    if candidates:
        assert dst_doc is not None
        results.update(_pin(config, source, dst, dst_doc, candidates, writes))
    ordered = tuple(results[name] for name in src_items if name in results)
    return list(src_items), ordered


def _unpromotable(
    config: Config,
    source: SourceEnvironment,
    src_doc: _Yaml,
    item: MappingNode,
    dst_doc: _Yaml | None,
    dst_path: Path,
) -> str | None:
    """Why SRC's release ``item`` cannot be promoted into DST, or None when it can."""
    name = _field(src_doc, item, "name")
    target = _items_by_name(dst_doc, "releases", "release").get(name or "")
    shown = yamlfile.relative_name(dst_path, config.root)
    if target is None or dst_doc is None:
        return f"{shown} has no release '{name}'"
    dst_dir = yamlfile.relative_name(dst_path.parent, config.root)
    src_chart = _chart_identity(config, source.directory, _field(src_doc, item, "chart") or "")
    dst_chart = _chart_identity(config, dst_dir, _field(dst_doc, target, "chart") or "")
    if src_chart != dst_chart:
        return (
            f"the charts differ ({source.environment.name}: {src_chart}, {shown}: {dst_chart}); "
            "promotion copies versions of one chart"
        )
    return None


def _pin(
    config: Config,
    source: SourceEnvironment,
    dst: Environment,
    dst_doc: _Yaml,
    candidates: Sequence[_Candidate],
    writes: dict[Path, bytes | None],
) -> dict[str, ReleasePromotion]:
    """DST's `version:` becomes SRC's locked version; DST's lock takes its version and digest."""
    src_lock = _source_lock(source, [(c.name, c.constraint) for c in candidates])
    dst_lock = read_lock(dst.directory, root=config.root)
    new_lock = dst_lock or Lock(entries=())
    edits: list[yamledit.Edit] = []
    expected = copy.deepcopy(dst_doc.data)
    results = {}
    for candidate in candidates:
        src_entry = src_lock.get(candidate.name)
        assert src_entry is not None
        version = src_entry.version
        old_entry = new_lock.get(candidate.name)
        # DST keeps its own entry's chart and repository (the same chart, perhaps spelt
        # differently); a new entry is SRC's.
        entry = dataclasses.replace(
            old_entry or src_entry, constraint=version, version=version, digest=src_entry.digest
        )
        old_constraint = _field(dst_doc, candidate.target, "version")
        before = old_entry.version if old_entry else old_constraint
        if old_constraint == version and old_entry == entry:
            results[candidate.name] = ReleasePromotion(
                candidate.name, PromotionStatus.UNCHANGED, before, version
            )
            continue
        changed = old_constraint if old_constraint != version else None
        results[candidate.name] = ReleasePromotion(
            candidate.name, PromotionStatus.PROMOTED, before, version, constraint=changed
        )
        new_lock = new_lock.with_entry(entry)
        if old_constraint != version:
            edits.append(_version_edit(dst_doc, candidate.target, version))
            index = _index_of(dst_doc, "releases", candidate.target)
            _set_in(expected, ("releases", index, "version"), version)
    if edits:
        writes[dst.directory / RELEASES_FILE] = _edited(dst_doc, edits, expected)
    if new_lock != dst_lock:
        writes[lock_path(dst.directory)] = dump_lock(new_lock).encode()
    return results


def _index_of(doc: _Yaml, key: str, target: MappingNode) -> int:
    """The position of ``target`` in the top-level list ``key`` (duplicates count)."""
    entry = yamledit.get(doc.node, key)
    assert entry is not None
    return next(i for i, item in enumerate(yamledit.items(entry[1])) if item is target)


def _version_edit(doc: _Yaml, target: MappingNode, version: str) -> yamledit.Edit:
    if yamledit.get(target, "version") is not None:
        return yamledit.set_value(doc.text, target, "version", version)
    return yamledit.add_key(
        doc.text, target, "version", version, after="chart", style=yamledit.DOUBLE
    )


def _source_lock(source: SourceEnvironment, releases: list[tuple[str, str | None]]) -> Lock:
    """SRC's lock, which must pin every release promoted: the lock is what SRC runs."""
    env = source.environment.name
    where = f"at {source.ref}" if source.ref else "in the work tree"
    fix = (
        f"run `toolkit lock {env}` and commit {source.directory}/{LOCK_FILE}, then promote "
        "from a ref that has it"
        if source.ref
        else f"run `toolkit lock {env}` first"
    )
    raw = source.read(LOCK_FILE)
    if raw is None:
        raise InputError(
            f"{source.display(LOCK_FILE)} not found: {env} has no lock {where}, so what it "
            f"runs is not pinned; {fix}"
        )
    name = source.display(LOCK_FILE)
    yamlfile.load_text(raw, name=name)  # size, UTF-8 and alias checks first
    lock = parse_lock(raw.decode("utf-8"), name=name)
    for release, constraint in releases:
        entry = lock.get(release)
        problem = None
        if entry is None:
            problem = f"has no entry for release '{release}'"
        elif entry.constraint != constraint:
            problem = (
                f"is stale for release '{release}': it was locked for version "
                f"{entry.constraint!r}, {RELEASES_FILE} now asks for {constraint!r}"
            )
        elif constraint and not semver.satisfies(constraint, entry.version):
            problem = (
                f"is stale for release '{release}': locked version {entry.version} does not "
                f"satisfy {constraint!r}"
            )
        if problem:
            raise InputError(f"{name} {problem}; {fix}")
    return lock


# --- images ---------------------------------------------------------------------------------


def _kustomization_name(exists: Callable[[str], bool]) -> str | None:
    return next((name for name in KUSTOMIZATION_FILES if exists(name)), None)


def _promote_images(
    config: Config,
    source: SourceEnvironment,
    dst: Environment,
    only: set[str],
    writes: dict[Path, bytes | None],
) -> tuple[list[str], tuple[ImagePromotion, ...]]:
    src_name = _kustomization_name(lambda name: source.read(name) is not None)
    if src_name is None:
        return [], ()
    src_raw = source.read(src_name)
    assert src_raw is not None
    src_doc = _parse(src_raw, source.display(src_name))
    src_items = _items_by_name(src_doc, "images", "image")
    dst_name = _kustomization_name(lambda name: (dst.directory / name).is_file())
    dst_path = dst.directory / (dst_name or src_name)
    dst_doc = _read_target(config, dst_path)
    dst_items = _items_by_name(dst_doc, "images", "image")
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
        wanted = {key: _field(src_doc, item, key) for key in IMAGE_FIELDS}
        changes, image_edits = edit_image(dst_doc.text, dst_doc.name, target, wanted)
        edits += image_edits
        index = _index_of(dst_doc, "images", target)
        for change in changes:
            value = _DELETE if change.after is None else change.after
            _set_in(expected, ("images", index, change.field), value)
        results.append(
            ImagePromotion(
                name,
                PromotionStatus.PROMOTED if changes else PromotionStatus.UNCHANGED,
                tuple(changes),
            )
        )
    if edits:
        assert dst_doc is not None
        writes[dst_path] = _edited(dst_doc, edits, expected)
    return list(src_items), tuple(results)


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
