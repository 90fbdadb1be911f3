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

from yaml.nodes import MappingNode

from toolkit.charts import semver
from toolkit.charts.lockfile import (
    Lock,
    dependency_changes,
    dump_lock,
    lock_path,
    parse_lock,
    read_lock,
)
from toolkit.config.project import Config, Environment
from toolkit.config.releases import LOCK_FILE, RELEASES_FILE
from toolkit.infra import git, yamledit, yamlfile
from toolkit.infra.errors import InputError
from toolkit.promote.changes import (
    ImagePromotion,
    PromotionStatus,
    ReleasePromotion,
)
from toolkit.promote.images import promote_images
from toolkit.promote.sourcefiles import (
    FilePromotion,
    SourceEnvironment,
    open_source,
    promote_files,
)
from toolkit.promote.yamldocs import (
    YamlDoc,
    edited,
    index_of,
    items_by_name,
    parse,
    read_target,
    scalar_field,
    set_in,
)


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
    refuse_dirty(config, dst_env, allow_dirty=allow_dirty)
    writes: dict[Path, bytes | None] = {}
    modes: dict[Path, int] = {}
    release_names, releases = _promote_releases(config, source, dst_env, set(only), writes)
    image_names, images = promote_images(config, source, dst_env, set(only), writes)
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
            f"e.g. toolkit promote {names[0]} {names[min(1, len(names) - 1)]}; to take "
            f"{src.name} back to an earlier state: toolkit rollback {src.name} --to REF"
        )
    if force or j == i + 1:
        return
    order = " -> ".join(names)
    if j < i:
        raise InputError(
            f"'{dst.name}' comes before '{src.name}' in toolkit.yaml ({order}): promoting "
            f"backwards needs --force (to take {dst.name} back to what it ran before: "
            f"toolkit rollback {dst.name} --to {dst.name}/<n>)"
        )
    skipped = ", ".join(names[i + 1 : j])
    raise InputError(
        f"promoting {src.name} -> {dst.name} skips {skipped} (toolkit.yaml orders {order}): "
        f"promote through each stage in turn, or pass --force"
    )


def refuse_dirty(config: Config, dst: Environment, *, allow_dirty: bool) -> None:
    """Uncommitted edits in DST could be overwritten, and a commit would sweep them in."""
    if allow_dirty:
        return
    prefix = git.show_prefix(config.root)
    directory = dst.directory.relative_to(config.root).as_posix()
    inside = f"{prefix}{directory}/"
    dirty = [p.removeprefix(prefix) for p in git.changed_paths(config.root) if p.startswith(inside)]
    if dirty:
        listed = "\n".join(f"    {path}" for path in dirty[:20])
        raise InputError(
            f"{directory}/ has uncommitted changes that this could overwrite:\n{listed}\n"
            "commit or stash them first, or pass --allow-dirty to write over them"
        )


def _refuse_unknown_only(source: SourceEnvironment, only: Sequence[str], known: list[str]) -> None:
    for name in only:
        if name not in known:
            listed = ", ".join(known) or "none"
            raise InputError(
                f"--only {name}: {source.label} has no release or image '{name}'"
                f"{yamlfile.did_you_mean(name, known)}; its releases and images: {listed}"
            )


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
    src_doc = None if raw is None else parse(raw, source.display(RELEASES_FILE))
    src_items = items_by_name(src_doc, "releases", "release")
    dst_path = dst.directory / RELEASES_FILE
    dst_doc = read_target(config, dst_path)
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
            target = items_by_name(dst_doc, "releases", "release")[name]
            candidates.append(_Candidate(name, scalar_field(src_doc, item, "version"), target))
    if candidates:
        assert dst_doc is not None
        results.update(_pin(config, source, dst, dst_doc, candidates, writes))
    ordered = tuple(results[name] for name in src_items if name in results)
    return list(src_items), ordered


def _unpromotable(
    config: Config,
    source: SourceEnvironment,
    src_doc: YamlDoc,
    item: MappingNode,
    dst_doc: YamlDoc | None,
    dst_path: Path,
) -> str | None:
    """Why SRC's release ``item`` cannot be promoted into DST, or None when it can."""
    name = scalar_field(src_doc, item, "name")
    target = items_by_name(dst_doc, "releases", "release").get(name or "")
    shown = yamlfile.relative_name(dst_path, config.root)
    if target is None or dst_doc is None:
        return f"{shown} has no release '{name}'"
    dst_dir = yamlfile.relative_name(dst_path.parent, config.root)
    src_chart = _chart_identity(
        config, source.directory, scalar_field(src_doc, item, "chart") or ""
    )
    dst_chart = _chart_identity(config, dst_dir, scalar_field(dst_doc, target, "chart") or "")
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
    dst_doc: YamlDoc,
    candidates: Sequence[_Candidate],
    writes: dict[Path, bytes | None],
) -> dict[str, ReleasePromotion]:
    """DST's lock takes SRC's locked version and digest (a local chart's tree and dependency
    pins with them); DST's `version:` stays as written when that version satisfies it (the
    constraint is a person's intent), else becomes it exactly."""
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
        old_constraint = scalar_field(dst_doc, candidate.target, "version")
        why_pinned = _pin_reason(dst_doc, old_constraint, version)
        constraint = version if why_pinned else old_constraint
        # DST keeps its own entry's chart and repository (the same chart, perhaps spelt
        # differently); a new entry is SRC's.
        entry = dataclasses.replace(
            old_entry or src_entry,
            constraint=constraint,
            version=version,
            digest=src_entry.digest,
            tree=src_entry.tree,  # a local chart: the git tree SRC renders
            dependencies=src_entry.dependencies,  # and the dependencies it renders with
        )
        before = old_entry.version if old_entry else old_constraint
        if not why_pinned and old_entry == entry:
            results[candidate.name] = ReleasePromotion(
                candidate.name, PromotionStatus.UNCHANGED, before, version
            )
            continue
        results[candidate.name] = ReleasePromotion(
            candidate.name,
            PromotionStatus.PROMOTED,
            before,
            version,
            constraint=old_constraint,
            pinned_because=why_pinned,
            dependencies=(
                dependency_changes(old_entry.dependencies, entry.dependencies) if old_entry else ""
            ),
        )
        new_lock = new_lock.with_entry(entry)
        if why_pinned:
            edits.append(_version_edit(dst_doc, candidate.target, version))
            index = index_of(dst_doc, "releases", candidate.target)
            set_in(expected, ("releases", index, "version"), version)
    if edits:
        writes[dst.directory / RELEASES_FILE] = edited(dst_doc, edits, expected)
    if new_lock != dst_lock:
        writes[lock_path(dst.directory)] = dump_lock(new_lock).encode()
    return results


def _pin_reason(dst_doc: YamlDoc, constraint: str | None, version: str) -> str:
    """Why DST's `version:` must become exactly ``version``, or "" when it allows it already
    (no constraint allows every version)."""
    if constraint is None or constraint == version:
        return ""
    try:
        allowed = semver.satisfies(constraint, version)
    except InputError:  # not a constraint helm reads: the exact version is one
        return f"{dst_doc.name} asks for {constraint!r}, which is not a valid constraint"
    return "" if allowed else f"{version} does not satisfy {constraint!r}"


def _version_edit(doc: YamlDoc, target: MappingNode, version: str) -> yamledit.Edit:
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
