"""Charts from HTTP repositories: versions from `index.yaml` (fetched once per repository per
run), digests the sha256 of the archive, archives kept in the verified content cache."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field

from toolkit.charts import semver
from toolkit.charts.contentcache import ChartCache, sha256_digest
from toolkit.charts.credentials import AccessBook
from toolkit.charts.index import Index, IndexEntry, parse_index
from toolkit.charts.source import ChartVersion, Requester, none_satisfies, verify
from toolkit.config.releases import RepoChart
from toolkit.infra import http, yamlfile
from toolkit.infra.errors import InputError


@dataclass
class Repositories:
    """One run's HTTP repositories: each index is fetched once, each archive downloaded once,
    however many environments and releases use them."""

    cache: ChartCache
    access: AccessBook
    _indexes: dict[str, Index] = field(default_factory=dict)
    _downloads: dict[str, bytes] = field(default_factory=dict)  # archive URL -> its bytes

    def index(self, url: str, *, what: str, defined_in: str) -> Index:
        if url not in self._indexes:
            access = self.access.for_url(f"{url}/index.yaml")
            response = http.get_ok(
                f"{url}/index.yaml",
                what=what,
                headers=access.headers(),
                tls=access.tls,
                expected=f"check {defined_in}: it must be the URL of a Helm repository (the "
                "directory holding index.yaml)",
            )
            self._indexes[url] = parse_index(response.body, url=response.url, what=what)
        return self._indexes[url]

    def download(self, url: str, *, what: str, expected: str) -> bytes:
        if url not in self._downloads:  # environments sharing a version download it once
            access = self.access.for_url(url)
            response = http.get_ok(
                url, what=what, expected=expected, headers=access.headers(), tls=access.tls
            )
            self._downloads[url] = response.body
        return self._downloads[url]


@dataclass(frozen=True)
class RepositorySource:
    """One chart of an HTTP repository."""

    chart: RepoChart
    repositories: Repositories
    defined_in: str  # where the repository's URL is written, for messages

    @property
    def repository(self) -> str:
        return self.chart.url

    def chart_name(self) -> str:
        return self.chart.name

    def resolve(self, constraint: str | None, requester: Requester) -> ChartVersion:
        chart = self.chart
        index = self._index()
        versions = [e.version for e in self._versions(index, requester)]
        version = semver.select(constraint, versions)
        if version is None:
            raise none_satisfies(
                requester, constraint, versions, f"{chart.url} (chart {chart.name})"
            )
        return self._download(index, version, None, requester)

    def present(self, constraint: str | None, requester: Requester) -> None:
        return None

    def fetch(self, version: str, digest: str, requester: Requester) -> ChartVersion:
        cached = self.repositories.cache.get(digest)
        if cached is not None:
            return ChartVersion(self.chart.name, version, digest, cached, self.chart.url)
        return self._download(self._index(), version, digest, requester)

    def helm_argument(self, version: str) -> str:
        return f"{self.chart.name} --repo {self.chart.url} --version {version}"

    def _index(self) -> Index:
        what = f"repository '{self.chart.repository}'"
        return self.repositories.index(self.chart.url, what=what, defined_in=self.defined_in)

    def _versions(self, index: Index, requester: Requester) -> tuple[IndexEntry, ...]:
        chart = self.chart
        entries = index.entries.get(chart.name)
        if not entries:
            raise InputError(
                f"{requester.what}: repository '{chart.repository}' ({chart.url}) has no chart "
                f"'{chart.name}'{yamlfile.did_you_mean(chart.name, index.entries)}; "
                f"it has {len(index.entries)} charts"
            )
        return entries

    def _download(
        self, index: Index, version: str, expected: str | None, requester: Requester
    ) -> ChartVersion:
        chart = self.chart
        entry = next((e for e in self._versions(index, requester) if e.version == version), None)
        if entry is None or not entry.urls:
            raise InputError(
                f"{requester.what}: repository '{chart.repository}' no longer lists {chart.name} "
                f"{version}{'' if entry is None else ' with a download URL'}; run "
                f"`{requester.upgrade}` to choose another version"
            )
        url = urllib.parse.urljoin(index.url, entry.urls[0])
        body = self.repositories.download(
            url,
            what=requester.what,
            expected=f"the repository's index.yaml names this URL for {chart.name} {version}, "
            "but the server does not have it; tell the repository's maintainers",
        )
        verify(requester, expected, sha256_digest(body), f"{chart.name} {version}")
        digest, path = self.repositories.cache.put(body)
        return ChartVersion(chart.name, version, digest, path, chart.url)
