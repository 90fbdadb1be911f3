"""Promotion: make DST run what SRC runs (chart versions, image tags, chosen files), nothing else.

A plan is worked out first, reading SRC (work tree or a ref) and DST (work tree) without
writing anything; applying it writes every DST file or none; committing it records the
promotion with each change from -> to.
"""

from __future__ import annotations

import copy
import dataclasses
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from toolkit import git, semver, yamledit, yamlfile
from toolkit.config import (
    KUSTOMIZATION_FILES,
    RELEASES_FILE,
    Config,
    Environment,
)
from toolkit.errors import InputError
from toolkit.lock import LOCK_FILE, Lock, dump_lock, lock_path, parse_lock, read_lock
from toolkit.promotesource import (
    FilePromotion,
    Source,
    open_source,
    promote_files,
)

PROMOTED = "promoted"
UNCHANGED = "unchanged"
NOT_PROMOTED = "not promoted"
IMAGE_FIELDS = ("newName", "newTag", "digest")
_DELETE = object()


@dataclass(frozen=True)
class ReleasePromotion:
    name: str
    status: str
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
    status: str
    changes: tuple[FieldChange, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Plan:
    """What promoting SRC into DST changes, and the bytes each DST file will hold."""

    source: Source
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
    image_names, images = _promote_images(source, dst_env, config, set(only), writes)
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


def _refuse_unknown_only(source: Source, only: Sequence[str], known: list[str]) -> None:
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
    if yamlfile.load_text(text, name=doc.name).data != expected:
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


def _promote_releases(
    config: Config,
    source: Source,
    dst: Environment,
    only: set[str],
    writes: dict[Path, bytes | None],
) -> tuple[list[str], tuple[ReleasePromotion, ...]]:
    raw = source.read(RELEASES_FILE)
    src_doc = None if raw is None else _parse(raw, source.display(RELEASES_FILE))
    src_items = _items_by_name(src_doc, "releases", "release")
    dst_path = dst.directory / RELEASES_FILE
    dst_doc = _read_target(config, dst_path)
    dst_items = _items_by_name(dst_doc, "releases", "release")
    dst_dir = dst.directory.relative_to(config.root).as_posix()
    results: dict[str, ReleasePromotion] = {}
    candidates = []
    for name, item in src_items.items():
        if only and name not in only:
            continue
        assert src_doc is not None
        target = dst_items.get(name)
        if target is None or dst_doc is None:
            results[name] = ReleasePromotion(
                name, NOT_PROMOTED, None, None, f"{dst_dir}/{RELEASES_FILE} has no release '{name}'"
            )
            continue
        src_chart = _chart_identity(config, source.directory, _field(src_doc, item, "chart") or "")
        dst_chart = _chart_identity(config, dst_dir, _field(dst_doc, target, "chart") or "")
        if src_chart != dst_chart:
            results[name] = ReleasePromotion(
                name,
                NOT_PROMOTED,
                None,
                None,
                f"the charts differ ({source.environment.name}: {src_chart}, "
                f"{dst.name}: {dst_chart}); promotion copies versions of one chart",
            )
            continue
        candidates.append((name, _field(src_doc, item, "version"), target))
    if candidates:
        assert dst_doc is not None
        src_lock = _source_lock(source, [(n, c) for n, c, _t in candidates])
        dst_lock = read_lock(dst.directory, root=config.root)
        new_lock = dst_lock or Lock(entries=())
        edits: list[yamledit.Edit] = []
        expected = copy.deepcopy(dst_doc.data)
        for name, _constraint, target in candidates:
            src_entry = src_lock.get(name)
            assert src_entry is not None
            version = src_entry.version
            old_entry = new_lock.get(name)
            entry = (
                dataclasses.replace(src_entry, constraint=version)
                if old_entry is None
                else dataclasses.replace(
                    old_entry, constraint=version, version=version, digest=src_entry.digest
                )
            )
            old_constraint = _field(dst_doc, target, "version")
            before = old_entry.version if old_entry else old_constraint
            if old_constraint == version and old_entry == entry:
                results[name] = ReleasePromotion(name, UNCHANGED, before, version)
                continue
            changed = old_constraint if old_constraint != version else None
            results[name] = ReleasePromotion(name, PROMOTED, before, version, constraint=changed)
            new_lock = new_lock.with_entry(entry)
            if old_constraint != version:
                edits.append(_version_edit(dst_doc, target, version))
                _set_in(expected, ("releases", _index_of(dst_doc, target), "version"), version)
        if edits:
            writes[dst_path] = _edited(dst_doc, edits, expected)
        if new_lock != dst_lock and any(r.status == PROMOTED for r in results.values()):
            writes[lock_path(dst.directory)] = dump_lock(new_lock).encode()
    ordered = tuple(results[name] for name in src_items if name in results)
    return list(src_items), ordered


def _index_of(doc: _Yaml, target: MappingNode) -> int:
    entry = yamledit.get(doc.node, "releases")
    assert entry is not None
    return next(i for i, item in enumerate(yamledit.items(entry[1])) if item is target)


def _version_edit(doc: _Yaml, target: MappingNode, version: str) -> yamledit.Edit:
    if yamledit.get(target, "version") is not None:
        return yamledit.set_value(target, "version", version)
    return yamledit.add_key(
        doc.text, target, "version", version, after="chart", style=yamledit.DOUBLE
    )


def _source_lock(source: Source, releases: list[tuple[str, str | None]]) -> Lock:
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


def _kustomization(read: Any) -> tuple[str, bytes] | None:
    for name in KUSTOMIZATION_FILES:
        raw = read(name)
        if raw is not None:
            return name, raw
    return None


def _promote_images(
    source: Source,
    dst: Environment,
    config: Config,
    only: set[str],
    writes: dict[Path, bytes | None],
) -> tuple[list[str], tuple[ImagePromotion, ...]]:
    found = _kustomization(source.read)
    if found is None:
        return [], ()
    src_doc = _parse(found[1], source.display(found[0]))
    src_items = _items_by_name(src_doc, "images", "image")
    dst_found = _kustomization(
        lambda name: (
            (dst.directory / name).read_bytes() if (dst.directory / name).is_file() else None
        )
    )
    dst_path = dst.directory / (dst_found[0] if dst_found else KUSTOMIZATION_FILES[0])
    dst_doc = _read_target(config, dst_path) if dst_found else None
    dst_items = _items_by_name(dst_doc, "images", "image")
    dst_dir = dst.directory.relative_to(config.root).as_posix()
    results = []
    edits: list[yamledit.Edit] = []
    expected = copy.deepcopy(dst_doc.data) if dst_doc else None
    for name, item in src_items.items():
        if only and name not in only:
            continue
        target = dst_items.get(name)
        if target is None or dst_doc is None:
            where = f"{dst_dir}/{found[0]}" if dst_doc is None else dst_doc.name
            results.append(
                ImagePromotion(
                    name, NOT_PROMOTED, reason=f"{where} has no image '{name}' in images:"
                )
            )
            continue
        changes = []
        index = list(dst_items.values()).index(target)
        for key in IMAGE_FIELDS:
            after, before = _field(src_doc, item, key), _field(dst_doc, target, key)
            if after == before:
                continue
            changes.append(FieldChange(key, before, after))
            edits.append(_image_edit(dst_doc, target, key, after))
            _set_in(expected, ("images", index, key), _DELETE if after is None else after)
        results.append(ImagePromotion(name, PROMOTED if changes else UNCHANGED, tuple(changes)))
    if edits:
        assert dst_doc is not None
        writes[dst_path] = _edited(dst_doc, edits, expected)
    return list(src_items), tuple(results)


def _image_edit(doc: _Yaml, target: MappingNode, key: str, value: str | None) -> yamledit.Edit:
    if value is None:
        return yamledit.remove_key(
            doc.text, target, key, where=f"{doc.name}:{yamledit.line_of(target)}"
        )
    if yamledit.get(target, key) is not None:
        return yamledit.set_value(target, key, value)
    # After the nearest field that comes before it in kustomize's own order, and is kept.
    order = ("name", *IMAGE_FIELDS)
    before = [k for k in order[: order.index(key)] if yamledit.scalar(target, k) is not None]
    return yamledit.add_key(doc.text, target, key, value, after=before[-1], style=yamledit.PLAIN)
