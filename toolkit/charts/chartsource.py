"""Where each release's chart comes from: the run's chart sources, one `ChartSource` per chart
reference (see source.py), sharing one download cache, one index per repository and one
registry client."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.charts import chartcopy, localtrees
from toolkit.charts.contentcache import ChartCache
from toolkit.charts.localsource import LocalSource
from toolkit.charts.lockfile import LockEntry
from toolkit.charts.source import ChartSource, ChartVersion, Requester, check_constraint
from toolkit.charts.subcharts import ResolvedDependency, Subcharts
from toolkit.config.project import CONFIG_FILE, Config
from toolkit.config.releases import (
    RELEASES_FILE,
    ChartRef,
    LocalChart,
    OciChart,
    Release,
    RepoChart,
)

if TYPE_CHECKING:
    from toolkit.charts.credentials import AccessBook
    from toolkit.charts.ocisource import Registries
    from toolkit.charts.reposource import Repositories


@dataclass(frozen=True)
class ResolvedRelease:
    """A release with the exact chart it renders."""

    release: Release
    chart_name: str
    version: str
    digest: str
    path: Path  # the chart directory, or the verified archive in the cache
    repository: str | None  # an https:// index repository, an oci:// base, None for local
    helm_argument: str  # the chart as a user would pass it to helm (no path of this machine)
    dependencies: tuple[ResolvedDependency, ...] = ()  # a local chart's, from its Chart.yaml
    tree: str | None = None  # a local chart rendered from this git tree (its locked state)

    @property
    def render_digest(self) -> str:
        """The digest of what renders: the chart and its dependencies."""
        return chartcopy.built_digest(self.digest, self.dependencies)

    def chart_to_render(self) -> Path:
        """The chart helm renders: a local chart with dependencies is a copy with its charts/
        filled in (see chartcopy.py); any other is `path`."""
        return chartcopy.chart_to_render(self.path, self.digest, self.dependencies)

    def lock_entry(self) -> LockEntry:
        return LockEntry(
            release=self.release.name,
            chart=self.chart_name,
            repository=self.repository,
            constraint=self.release.version,
            version=self.version,
            digest=self.digest,
            dependencies=tuple(d.locked() for d in self.dependencies),
            tree=self.tree,
        )


def requester_of(release: Release) -> Requester:
    return Requester(
        what=f"{release.location}: release {release.name}",
        upgrade=f"toolkit lock --upgrade {release.name}",
        constraint_file=RELEASES_FILE,
    )


@dataclass
class ChartSources:
    """Resolving and fetching charts for one run: each repository index is fetched once,
    however many environments and releases use it."""

    config: Config
    cache: ChartCache = field(default_factory=ChartCache.default)
    subcharts: Subcharts = field(init=False)

    def __post_init__(self) -> None:
        self.subcharts = Subcharts(self.config.root, self.config.repositories, self.source)

    # The remote sources are made on first use: a run that renders local charts alone (and
    # one that finds them all locked) never loads the HTTP, OCI and credential clients.
    @functools.cached_property
    def _access(self) -> AccessBook:
        from toolkit.charts.credentials import AccessBook

        return AccessBook(self.config.repository_access)

    @functools.cached_property
    def repositories(self) -> Repositories:
        from toolkit.charts.reposource import Repositories

        return Repositories(self.cache, self._access)

    @functools.cached_property
    def registries(self) -> Registries:
        from toolkit.charts.ocisource import Registries

        return Registries(self.cache, self._access)

    def source(self, chart: ChartRef) -> ChartSource:
        """The source of a chart reference: the one place that tells the kinds apart."""
        match chart:
            case LocalChart(path=path):
                return LocalSource(path, self.config.root)
            case RepoChart(repository=alias):
                defined_in = (
                    f"repositories.{alias} in {CONFIG_FILE}"
                    if alias in self.config.repositories
                    else f"the repository URL {chart.url}"
                )
                from toolkit.charts.reposource import RepositorySource

                return RepositorySource(chart, self.repositories, defined_in)
            case OciChart():
                from toolkit.charts.ocisource import OciSource

                return OciSource(chart, self.registries)
        raise AssertionError(f"unknown chart reference {chart!r}")

    def resolve(self, release: Release) -> ResolvedRelease:
        """The version Helm would pick for the release's constraint, downloaded and hashed."""
        requester = requester_of(release)
        check_constraint(release.version, requester.what)
        source = self.source(release.chart)
        chart = source.resolve(release.version, requester)
        subcharts = self.subcharts.resolve(chart.path, requester) if _local(chart) else ()
        return _resolved(release, source, chart, subcharts)

    def present(self, release: Release) -> ResolvedRelease | None:
        """The release's chart as it is on this machine, without downloading anything: a local
        chart's directory (checked against the constraint); None for a remote chart."""
        requester = requester_of(release)
        check_constraint(release.version, requester.what)
        source = self.source(release.chart)
        chart = source.present(release.version, requester)
        return None if chart is None else _resolved(release, source, chart, ())

    def fetch(self, release: Release, entry: LockEntry) -> ResolvedRelease:
        """Exactly what the lock entry pins, verified against its digests (from the cache
        without any network access when it is there)."""
        requester = requester_of(release)
        source = self.source(release.chart)
        chart = source.fetch(entry.version, entry.digest, requester)
        subcharts = (
            self.subcharts.fetch(chart.path, entry.dependencies, requester) if _local(chart) else ()
        )
        return _resolved(release, source, chart, subcharts)

    def at_tree(
        self, release: Release, chart: LocalChart, tree: str, entry: LockEntry, *, shown: str
    ) -> ResolvedRelease:
        """A local chart as the git `tree` its lock entry (in `shown`) pins (see localtrees.py),
        with the dependencies the entry pins: file:// ones found from the chart's directory,
        where Chart.yaml names them, at their own trees where the entry has them."""
        requester = requester_of(release)
        check_constraint(release.version, requester.what)
        pinned = localtrees.exported_chart(
            self.config.root,
            chart.path,
            tree,
            constraint=release.version,
            what=f"{shown}: release {release.name}",
        )
        subcharts = self.subcharts.fetch(
            pinned.path, entry.dependencies, requester, links_from=chart.path
        )
        # Named as what was exported: the chart's path and its tree, never the cache's path.
        argument = f"{chart.path.relative_to(self.config.root).as_posix()} (git tree {tree})"
        return ResolvedRelease(
            release,
            pinned.name,
            pinned.version,
            pinned.digest,
            pinned.path,
            None,
            argument,
            subcharts,
            tree=tree,
        )

    def dependencies_stale_reason(self, present: ResolvedRelease, entry: LockEntry) -> str | None:
        """Why a local chart's locked dependencies no longer answer its Chart.yaml, or None."""
        return self.subcharts.stale_reason(present.path, entry.dependencies)

    def tree_dependencies_stale_reason(
        self, chart: LocalChart, tree: str, entry: LockEntry
    ) -> str | None:
        """Why the dependencies `entry` pins do not answer the Chart.yaml of the git `tree` it
        renders (a promotion or a merge that moved one but not the other), or None; None too
        when this clone lacks the tree (rendering it says so)."""
        exported = localtrees.tree_directory(self.config.root, tree)
        if exported is None:
            return None
        return self.subcharts.stale_reason(exported, entry.dependencies, links_from=chart.path)


def _local(chart: ChartVersion) -> bool:
    """Whether toolkit fetches the chart's dependencies: a chart from a repository or registry
    carries them in its archive, as `helm package` put them there."""
    return chart.repository is None


def _resolved(
    release: Release,
    source: ChartSource,
    chart: ChartVersion,
    dependencies: tuple[ResolvedDependency, ...],
) -> ResolvedRelease:
    return ResolvedRelease(
        release,
        chart.name,
        chart.version,
        chart.digest,
        chart.path,
        chart.repository,
        source.helm_argument(chart.version),
        dependencies,
    )
