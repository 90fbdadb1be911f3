"""Where each release's chart comes from: the run's chart sources, one `ChartSource` per chart
reference (see source.py), sharing one download cache, one index per repository and one
registry client."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from toolkit.charts.contentcache import ChartCache
from toolkit.charts.localsource import LocalSource
from toolkit.charts.ocisource import OciSource, Registries
from toolkit.charts.reposource import Repositories, RepositorySource
from toolkit.charts.source import ChartSource, ChartVersion, Requester, check_constraint
from toolkit.config.project import CONFIG_FILE, Config
from toolkit.config.releases import (
    RELEASES_FILE,
    ChartRef,
    LocalChart,
    OciChart,
    Release,
    RepoChart,
)


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
    repositories: Repositories = field(init=False)
    registries: Registries = field(init=False)

    def __post_init__(self) -> None:
        self.repositories = Repositories(self.cache)
        self.registries = Registries(self.cache)

    def source(self, chart: ChartRef) -> ChartSource:
        """The source of a chart reference: the one place that tells the kinds apart."""
        match chart:
            case LocalChart(path=path):
                return LocalSource(path, self.config.root)
            case RepoChart(repository=alias):
                defined_in = f"repositories.{alias} in {CONFIG_FILE}"
                return RepositorySource(chart, self.repositories, defined_in)
            case OciChart():
                return OciSource(chart, self.registries)
        raise AssertionError(f"unknown chart reference {chart!r}")

    def resolve(self, release: Release) -> ResolvedRelease:
        """The version Helm would pick for the release's constraint, downloaded and hashed."""
        requester = requester_of(release)
        check_constraint(release.version, requester.what)
        source = self.source(release.chart)
        return _resolved(release, source, source.resolve(release.version, requester))

    def present(self, release: Release) -> ResolvedRelease | None:
        """The release's chart as it is on this machine, without downloading anything: a local
        chart's directory (checked against the constraint); None for a remote chart."""
        requester = requester_of(release)
        check_constraint(release.version, requester.what)
        source = self.source(release.chart)
        chart = source.present(release.version, requester)
        return None if chart is None else _resolved(release, source, chart)

    def fetch(self, release: Release, *, version: str, digest: str) -> ResolvedRelease:
        """Exactly the locked version, verified against the locked digest (from the cache
        without any network access when it is there)."""
        source = self.source(release.chart)
        return _resolved(release, source, source.fetch(version, digest, requester_of(release)))


def _resolved(release: Release, source: ChartSource, chart: ChartVersion) -> ResolvedRelease:
    return ResolvedRelease(
        release,
        chart.name,
        chart.version,
        chart.digest,
        chart.path,
        chart.repository,
        source.helm_argument(chart.version),
    )
