"""Resolving with the lock: what each environment renders (what its releases.lock pins,
verified, or a fresh resolution where the lock does not answer), and `toolkit lock`, which
writes the locks."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from toolkit.charts import chartsource, localtrees
from toolkit.charts.lockfile import (
    Lock,
    LockEntry,
    dependency_changes,
    lock_path,
    read_lock,
    stale_reason,
    write_locks,
)
from toolkit.charts.source import check_constraint
from toolkit.config.project import Config, Environment
from toolkit.config.releases import EnvironmentSpec, LocalChart, Release, load_environment
from toolkit.infra import yamlfile
from toolkit.infra.errors import InputError


@dataclass(frozen=True)
class Resolution:
    """One environment's releases as they render, and what the lock had to say about them."""

    releases: tuple[chartsource.ResolvedRelease, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class LockChange:
    """One release's line in what `toolkit lock` did."""

    environment: str
    release: str
    before: LockEntry | None
    after: LockEntry | None

    def describe(self) -> str:
        if self.before is None and self.after is not None:
            return (
                f"{self.environment}/{self.release}: locked {self.after.chart} {self.after.version}"
            )
        if self.after is None and self.before is not None:
            return f"{self.environment}/{self.release}: removed (no longer in releases.yaml)"
        assert self.before is not None and self.after is not None
        if self.before.version != self.after.version:
            return (
                f"{self.environment}/{self.release}: {self.after.chart} "
                f"{self.before.version} -> {self.after.version}"
            )
        where = f"{self.environment}/{self.release}"
        moved = dependency_changes(self.before.dependencies, self.after.dependencies)
        if moved:
            return f"{where}: {self.after.chart} {self.after.version}, {moved}"
        return f"{where}: {self.after.chart} {self.after.version} (re-pinned)"


def _shown(config: Config, env: Environment) -> str:
    return yamlfile.relative_name(lock_path(env.directory), config.root)


def _staleness(
    sources: chartsource.ChartSources, release: Release, entry: LockEntry | None
) -> tuple[str | None, chartsource.ResolvedRelease | None]:
    """(why the entry is stale, or None; the chart as it is now where it is on this machine,
    a local chart), without downloading anything."""
    source = sources.source(release.chart)
    if entry is not None and entry.tree and isinstance(release.chart, LocalChart):
        # Pinned by its git tree: a work-tree change is news (localtrees.behind_warnings), not
        # staleness; another chart in its place is, and so are dependency pins that do not
        # answer the Chart.yaml of the tree that renders.
        check_constraint(release.version, chartsource.requester_of(release).what)
        reason = stale_reason(
            entry, chart=source.chart_name(), repository=None, constraint=release.version
        ) or sources.tree_dependencies_stale_reason(release.chart, entry.tree, entry)
        return reason, None
    present = sources.present(release)
    reason = stale_reason(
        entry,
        chart=source.chart_name(),
        repository=source.repository,
        constraint=release.version,
    )
    if reason is None and present is not None and entry is not None:
        reason = sources.dependencies_stale_reason(present, entry) or _changed_locally(
            entry, present
        )
    return reason, present


def _changed_locally(entry: LockEntry, present: chartsource.ResolvedRelease) -> str | None:
    if entry.digest == present.digest:
        return None
    return (
        f"the local chart changed since it was locked ({entry.version} {entry.digest} "
        f"then, {present.version} {present.digest} now)"
    )


def _locked_or_stale(
    sources: chartsource.ChartSources, release: Release, entry: LockEntry | None, *, shown: str
) -> tuple[chartsource.ResolvedRelease | None, str | None]:
    """(what the lock pins, fetched and verified, None) or (None, why the entry is stale)."""
    reason, _ = _staleness(sources, release, entry)
    if reason is not None or entry is None:
        return None, reason
    if entry.tree and isinstance(release.chart, LocalChart):
        return sources.at_tree(release, release.chart, entry.tree, entry, shown=shown), None
    return sources.fetch(release, entry), None


def _locked_entry(sources: chartsource.ChartSources, release: Release) -> LockEntry:
    """A fresh entry: a local chart's records the git tree of its work-tree state, and the
    trees of its file:// dependencies."""
    resolved = sources.resolve(release)
    entry = resolved.lock_entry()
    tree = None if resolved.repository else localtrees.locked_tree(sources.config, resolved.path)
    if tree is None:
        return entry
    trees = {
        d.key: localtrees.locked_tree(sources.config, d.chart.path)
        for d in resolved.dependencies
        if d.chart.repository is None  # file://
    }
    pins = tuple(dataclasses.replace(pin, tree=trees.get(pin.key)) for pin in entry.dependencies)
    return dataclasses.replace(entry, tree=tree, dependencies=pins)


def resolve_environment(
    sources: chartsource.ChartSources, spec: EnvironmentSpec, *, locked: bool
) -> Resolution:
    """The charts an environment renders: what its lock pins (verified), and for releases the
    lock does not answer, a fresh resolution with a warning; with `locked`, an error instead."""
    config, env = sources.config, spec.environment
    if not spec.releases:
        return Resolution((), ())
    shown = _shown(config, env)
    current = read_lock(env.directory, root=config.root)
    fix = f"run `toolkit lock {env.name}` and commit {shown}"
    if current is None:
        if locked:
            raise InputError(f"{shown} does not exist and --locked forbids resolving: {fix}")
        releases = tuple(sources.resolve(release) for release in spec.releases)
        return Resolution(
            releases,
            (f"{shown} does not exist: resolved {len(releases)} releases in memory; {fix}",),
        )
    resolved: list[chartsource.ResolvedRelease] = []
    warnings: list[str] = []
    stale: list[str] = []
    for release in spec.releases:
        entry = current.get(release.name)
        pinned, reason = _locked_or_stale(sources, release, entry, shown=shown)
        if pinned is not None and entry is not None and entry.tree:
            notes = localtrees.behind_warnings(config, env, release, entry)
            warnings += [f"{shown}: {note}" for note in notes]
        if pinned is not None:
            resolved.append(pinned)
        elif locked:
            stale.append(f"release {release.name}: {reason}")
        else:
            fresh = sources.resolve(release)
            resolved.append(fresh)
            warnings.append(
                f"{shown}: release {release.name}: {reason}; using {fresh.version} in memory; {fix}"
            )
    if stale:
        raise InputError(
            f"{shown} is stale and --locked forbids resolving: {'; '.join(stale)}; {fix}"
        )
    return Resolution(tuple(resolved), tuple(warnings))


def lock_environment(
    sources: chartsource.ChartSources,
    spec: EnvironmentSpec,
    *,
    upgrade: Collection[str] | None,
    keep_local: bool = False,
) -> tuple[Lock | None, Lock]:
    """(the current lock, the lock the environment should have). Entries that still answer
    their release are kept as they are unless `upgrade` names the release (an empty
    `upgrade` means every release); the others are resolved afresh. A local chart is locked
    again when the work tree moved on from its tree, unless `keep_local`."""
    config, env = sources.config, spec.environment
    current = read_lock(env.directory, root=config.root)
    entries: list[LockEntry] = []
    for release in spec.releases:
        entry = current.get(release.name) if current is not None else None
        wanted = upgrade is not None and (not upgrade or release.name in upgrade)
        fresh = entry is not None and _staleness(sources, release, entry)[0] is None
        # `lock ENV` moves ENV's tree-pinned local charts to the work tree, as it moves a stale
        # entry. An entry locked before trees were recorded keeps its bytes until resolved.
        moved = (
            not keep_local
            and fresh
            and entry is not None
            and entry.tree is not None
            and bool(localtrees.behind_warnings(config, env, release, entry))
        )
        if not wanted and fresh and not moved:
            assert entry is not None
            entries.append(entry)
            continue
        entries.append(_locked_entry(sources, release))
    return current, Lock(tuple(entries))


def lock_environments(
    config: Config,
    environments: Sequence[Environment],
    *,
    upgrade: Sequence[str] | None = None,
    locked: bool = False,
    sources: chartsource.ChartSources | None = None,
) -> list[LockChange]:
    """`toolkit lock`: resolve every selected environment, then write their locks all at once
    (or, with `locked`, refuse when any lock would change). Returns what changed."""
    sources = sources or chartsource.ChartSources(config)
    specs = [load_environment(config, env) for env in environments]
    _check_upgrade_names(config, specs, upgrade)
    changes: list[LockChange] = []
    wanted: dict[Path, Lock] = {}
    for spec in specs:
        # --locked: a local chart the work tree moved on from is staged, not stale: kept.
        current, new = lock_environment(sources, spec, upgrade=upgrade, keep_local=locked)
        name = spec.environment.name
        before = {e.release: e for e in (current.entries if current else ())}
        after = {e.release: e for e in new.entries}
        changes += [
            LockChange(name, release, before.get(release), after.get(release))
            for release in sorted(before.keys() | after.keys())
            if before.get(release) != after.get(release)
        ]
        if spec.releases or current is not None:
            wanted[spec.environment.directory] = new
    if locked and changes:
        listed = "; ".join(change.describe() for change in changes)
        raise InputError(f"releases.lock is stale and --locked forbids changing it: {listed}")
    write_locks(wanted, root=config.root)
    return changes


def _check_upgrade_names(
    config: Config, specs: Sequence[EnvironmentSpec], upgrade: Sequence[str] | None
) -> None:
    known = sorted({release.name for spec in specs for release in spec.releases})
    for name in upgrade or ():
        if name not in known:
            raise InputError(
                f"--upgrade {name}: no release '{name}' in the selected environments"
                f"{yamlfile.did_you_mean(name, known)}; releases: {', '.join(known) or 'none'}"
            )
