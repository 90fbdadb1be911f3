"""A local chart's dependencies resolved as `helm dependency build` resolves them: from
Chart.lock when it is there and consistent with Chart.yaml, else each constraint as `helm
dependency update` would; or, once locked, exactly what releases.lock pins, verified."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from toolkit.charts import dependencies, localtrees
from toolkit.charts.dependencies import Dependency
from toolkit.charts.lockfile import LockedDependency
from toolkit.charts.source import ChartSource, ChartVersion, Requester, check_constraint
from toolkit.config.releases import ChartRef, LocalChart
from toolkit.infra import yamlfile
from toolkit.infra.errors import InputError


@dataclass(frozen=True)
class ResolvedDependency:
    """One dependency of a local chart, with the exact chart that fills its place."""

    key: str  # its alias, or its name
    constraint: str | None
    repository: str  # as the lock records it (file://DIR as Chart.yaml writes it)
    chart: ChartVersion

    def locked(self) -> LockedDependency:
        chart = self.chart
        return LockedDependency(
            self.key, chart.name, self.repository, self.constraint, chart.version, chart.digest
        )


@dataclass(frozen=True)
class Wanted:
    """A dependency toolkit fetches, and the source it comes from."""

    dependency: Dependency
    source: ChartSource
    repository: str  # as the lock records it
    directory: Path | None  # a file:// chart's directory in the work tree

    def requester(self, upgrade: str) -> Requester:
        return Requester(
            what=f"{self.dependency.where}: dependency {self.dependency.key}",
            upgrade=upgrade,
            constraint_file=self.dependency.where.split(":", 1)[0],
        )


@dataclass(frozen=True)
class Subcharts:
    """Dependencies of local charts, through the run's sources (`source_of`)."""

    root: Path
    aliases: Mapping[str, str]  # toolkit.yaml's repositories
    source_of: Callable[[ChartRef], ChartSource]

    def wanted(self, directory: Path, *, links_from: Path | None = None) -> tuple[Wanted, ...]:
        """The dependencies of the chart in `directory` that are not vendored in its charts/;
        file:// paths from `links_from` (the chart's place in the repository) when given."""
        found = []
        base = links_from or directory
        for dependency in dependencies.read_dependencies(directory, self.root):
            # From a locked tree, a file:// chart pinned at its own tree need not be in the
            # work tree any more (renamed since, say): `_work_tree_chart` checks the others.
            reference = dependencies.chart_reference(
                dependency, base, self.root, self.aliases, present=links_from is None
            )
            if reference is None:
                continue
            what = f"{dependency.where}: dependency {dependency.key}"
            check_constraint(dependency.constraint, what)
            source = self.source_of(reference)
            local = reference.path if isinstance(reference, LocalChart) else None
            repository = source.repository or dependency.repository
            found.append(Wanted(dependency, source, repository, local))
        return tuple(found)

    def resolve(self, directory: Path, parent: Requester) -> tuple[ResolvedDependency, ...]:
        """Fresh: the versions Chart.lock names when it is consistent with Chart.yaml (an error
        when it is not, as helm's), else those each constraint picks."""
        wanted = self.wanted(directory)
        if not wanted:
            return ()
        pinned = self._chart_lock_versions(directory)
        resolved = []
        for item in wanted:
            requester = item.requester(parent.upgrade)
            version = pinned.get(item.dependency.key) if pinned is not None else None
            if version is not None:
                chart = item.source.resolve(version, requester)  # an exact version matches itself
            else:
                chart = item.source.resolve(item.dependency.constraint, requester)
            resolved.append(_resolved(item, chart))
        return tuple(resolved)

    def fetch(
        self,
        directory: Path,
        pins: tuple[LockedDependency, ...],
        parent: Requester,
        *,
        links_from: Path | None = None,
    ) -> tuple[ResolvedDependency, ...]:
        """Exactly what releases.lock pins (the caller has checked that it still answers): a
        file:// chart pinned by its git tree is that tree, as its parent is."""
        by_key = {pin.key: pin for pin in pins}
        resolved = []
        for item in self.wanted(directory, links_from=links_from):
            pin = by_key.get(item.dependency.key)
            if pin is None:  # a lock written before the dependency was
                raise InputError(
                    f"{item.dependency.where}: dependency {item.dependency.key} is not in "
                    f"releases.lock: run `{parent.upgrade}`"
                )
            requester = item.requester(parent.upgrade)
            if pin.tree is not None and item.directory is not None:
                chart = localtrees.exported_chart(
                    self.root,
                    item.directory,
                    pin.tree,
                    constraint=item.dependency.constraint,
                    what=requester.what,
                )
            else:
                _work_tree_chart(item)
                chart = item.source.fetch(pin.version, pin.digest, requester)
            resolved.append(_resolved(item, chart))
        return tuple(resolved)

    def stale_reason(
        self,
        directory: Path,
        pins: tuple[LockedDependency, ...],
        *,
        links_from: Path | None = None,
    ) -> str | None:
        """Why the pinned dependencies no longer answer the Chart.yaml in `directory` (file://
        paths from `links_from`, as `wanted`), or None; a file:// dependency whose directory
        changed is stale too, unless it is pinned by its git tree (then that renders)."""
        found = self.wanted(directory, links_from=links_from)
        wanted = {item.dependency.key: item for item in found}
        by_key = {pin.key: pin for pin in pins}
        for key in sorted(wanted.keys() - by_key.keys()):
            return f"its dependency {key} is not in the lock"
        for key in sorted(by_key.keys() - wanted.keys()):
            return f"its dependency {key} is no longer in Chart.yaml"
        for key, item in sorted(wanted.items()):
            pin, dependency = by_key[key], item.dependency
            if pin.constraint != dependency.constraint:
                return (
                    f"the constraint of its dependency {key} changed from {pin.constraint!r} to "
                    f"{dependency.constraint!r}"
                )
            if (pin.chart, pin.repository) != (dependency.name, item.repository):
                return (
                    f"its dependency {key} changed from {pin.repository} {pin.chart} to "
                    f"{item.repository} {dependency.name}"
                )
            if pin.tree is not None and item.directory is not None:
                continue  # the work tree moving on is news (localtrees.behind_warnings)
            _work_tree_chart(item)
            present = item.source.present(None, item.requester("toolkit lock"))
            if present is not None and present.digest != pin.digest:
                return f"its dependency {key} ({item.repository}) changed since it was locked"
        return None

    def _chart_lock_versions(self, directory: Path) -> dict[str, str] | None:
        """Each dependency's version in Chart.lock (by key), or None without a Chart.lock."""
        lock = dependencies.read_chart_lock(directory, self.root)
        if lock is None:
            return None
        declared = dependencies.read_dependencies(directory, self.root)
        if dependencies.chart_lock_digest(declared, self.aliases, lock) != lock.digest:
            shown = yamlfile.relative_name(directory, self.root)
            raise InputError(
                f"{lock.where}: the lock file (Chart.lock) is out of sync with the dependencies "
                f"in Chart.yaml, as helm would say: run `helm dependency update {shown}` and "
                "commit Chart.lock, or delete Chart.lock to resolve the constraints afresh"
            )
        return {d.key: version for d, (_, _, version) in zip(declared, lock.versions, strict=True)}


def _work_tree_chart(item: Wanted) -> None:
    """A file:// chart that renders from the work tree must be there."""
    if item.directory is not None:
        dependencies.require_chart(item.dependency, item.directory)


def _resolved(item: Wanted, chart: ChartVersion) -> ResolvedDependency:
    return ResolvedDependency(
        item.dependency.key, item.dependency.constraint, item.repository, chart
    )
