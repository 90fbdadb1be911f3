"""Charts from OCI registries: versions from the repository's tags, digests the manifest's,
the manifest and the chart layer kept in the verified content cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from toolkit.charts import oci, semver
from toolkit.charts.contentcache import ChartCache
from toolkit.charts.credentials import AccessBook
from toolkit.charts.source import ChartVersion, Requester, none_satisfies, verify
from toolkit.config.releases import OciChart
from toolkit.infra.http import FetchError


@dataclass
class Registries:
    """One run's registries: one client (bearer tokens fetched once per repository) and each
    repository's tags listed once."""

    cache: ChartCache
    access: AccessBook
    client: oci.Registry = field(init=False)
    _tags: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.client = oci.Registry(lambda ref: self.access.for_registry(ref.host, ref.repository))

    def tags(self, ref: oci.Reference, what: str) -> list[str]:
        if ref.url not in self._tags:
            self._tags[ref.url] = self.client.tags(ref, what=what)
        return self._tags[ref.url]

    def cached_archive(self, manifest_digest: str) -> Path | None:
        manifest = self.cache.get(manifest_digest)
        if manifest is None:
            return None
        try:
            layer = oci.chart_layer(manifest.read_bytes(), what="cache")
        except FetchError:
            return None
        return self.cache.get(layer)


@dataclass(frozen=True)
class OciSource:
    """One chart of an OCI registry, `oci://host/path/chart`."""

    chart: OciChart
    registries: Registries

    @property
    def ref(self) -> oci.Reference:
        return oci.parse_reference(self.chart.url)

    @property
    def repository(self) -> str:
        return self.ref.base

    def chart_name(self) -> str:
        return self.chart.name

    def resolve(self, constraint: str | None, requester: Requester) -> ChartVersion:
        tags = self.registries.tags(self.ref, requester.what)
        version = semver.select_oci(constraint, tags)
        if version is None:
            shown = [tag.replace("_", "+") for tag in tags]
            raise none_satisfies(requester, constraint, shown, self.chart.url)
        return self._download(version, None, requester)

    def present(self, constraint: str | None, requester: Requester) -> None:
        return None

    def fetch(self, version: str, digest: str, requester: Requester) -> ChartVersion:
        archive = self.registries.cached_archive(digest)
        if archive is not None:
            return ChartVersion(self.chart.name, version, digest, archive, self.repository)
        return self._download(version, digest, requester)

    def helm_argument(self, version: str) -> str:
        return f"{self.chart.url} --version {version}"

    def _download(self, version: str, expected: str | None, requester: Requester) -> ChartVersion:
        ref, what, client = self.ref, requester.what, self.registries.client
        digest, manifest = client.manifest(ref, oci.tag_of(version), what=what)
        verify(requester, expected, digest, f"{self.chart.url}:{oci.tag_of(version)}")
        archive = client.blob(ref, oci.chart_layer(manifest, what=what), what=what)
        self.registries.cache.put(manifest)
        _, path = self.registries.cache.put(archive)
        return ChartVersion(self.chart.name, version, digest, path, self.repository)
