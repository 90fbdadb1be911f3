"""Chart sources: where each release's chart comes from, which version, and its digest.

Three sources: local chart directories (digest: a content hash of the directory), HTTP
repositories (`index.yaml`, fetched once per repository per run; digest: sha256 of the
archive) and OCI registries (tags through the registry API; digest: the manifest digest).
Remote charts are downloaded into a content-addressed cache and rendered from there.
"""

from __future__ import annotations

import hashlib
import os
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.charts import oci, semver
from toolkit.config.project import Config
from toolkit.config.releases import LocalChart, OciChart, Release, RepoChart
from toolkit.infra import atomicfiles, http, paths, runmemo, yamlfile
from toolkit.infra.errors import InputError
from toolkit.infra.http import FetchError
from toolkit.infra.paths import refuse_link_out


@dataclass(frozen=True)
class ResolvedRelease:
    """A release with the exact chart it renders."""

    release: Release
    chart_name: str
    version: str
    digest: str
    path: Path  # the chart directory, or the verified archive in the cache
    repository: str | None  # an https:// index repository, an oci:// base, None for local
    tree: str | None = None  # a local chart rendered from this git tree (its locked state)


@dataclass(frozen=True)
class ChartRequest:
    """What a release asks for, in the terms the lock records."""

    chart: str
    repository: str | None
    constraint: str | None


def directory_digest(directory: Path, root: Path) -> str:
    """A content hash of a chart directory: each file's relative path and bytes, sorted.
    Symlinks are followed, as helm follows them; one leading outside `root` (the repository)
    is an error, whether or not helm then runs (a cached render does not)."""
    return runmemo.remembered(
        ("chart digest", directory), lambda: _directory_digest(directory, root)
    )


def directory_reads(directory: Path, root: Path) -> tuple[Path, ...]:
    """What reading a chart directory reads: the directory, and where its symlinks lead."""
    return (directory, *_chart_tree(directory, root).links)


@dataclass(frozen=True)
class _ChartTree:
    files: tuple[tuple[str, Path], ...]  # (path relative to the chart, the file)
    links: tuple[Path, ...]  # where the symlinks inside lead


def _chart_tree(directory: Path, root: Path) -> _ChartTree:
    return runmemo.remembered(("chart tree", directory), lambda: _walk_chart(directory, root))


def chart_files(directory: Path, root: Path) -> tuple[tuple[str, ...], tuple[Path, ...]]:
    """(each file of a chart directory, relative to it; where its symlinks lead)."""
    tree = _chart_tree(directory, root)
    return tuple(name for name, _path in tree.files), tree.links


def _walk_chart(directory: Path, root: Path) -> _ChartTree:
    files: list[tuple[str, Path]] = []
    links: list[Path] = []
    seen = {directory.resolve()}
    inside = [root.resolve()]
    for top, dirs, names in os.walk(directory, followlinks=True):
        here = Path(top)
        for name in list(dirs):
            refuse_link_out(here / name, inside, root=root, reader="helm")
            target = (here / name).resolve()
            if (here / name).is_symlink():
                links.append(target)
            if target in seen:  # a link back up would loop
                dirs.remove(name)
            seen.add(target)
        for name in names:
            path = here / name
            refuse_link_out(path, inside, root=root, reader="helm")
            if path.is_symlink():
                links.append(path.resolve())
            if path.is_file():
                files.append((path.relative_to(directory).as_posix(), path))
    # Sorted as paths (by component), the order chart digests in existing locks were made in.
    files.sort(key=lambda file: file[1])
    return _ChartTree(tuple(files), tuple(sorted(set(links))))


def _directory_digest(directory: Path, root: Path) -> str:
    digest = hashlib.sha256()
    for relative, path in _chart_tree(directory, root).files:
        digest.update(relative.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return f"sha256:{digest.hexdigest()}"


def _what(release: Release) -> str:
    return f"{release.location}: release {release.name}"


def request_of(release: Release, *, local_name: str | None = None) -> ChartRequest:
    """The chart and repository a release names; a local chart's name comes from its
    Chart.yaml and is passed in as `local_name`."""
    chart = release.chart
    if isinstance(chart, RepoChart):
        return ChartRequest(chart.name, chart.url, release.version)
    if isinstance(chart, OciChart):
        return ChartRequest(chart.name, oci.parse_reference(chart.url).base, release.version)
    return ChartRequest(local_name or chart.path.name, None, release.version)


def check_constraint(release: Release) -> None:
    """An invalid constraint is an error naming the release and where it is written."""
    try:
        semver.parse_constraint(release.version or "*")
    except InputError as exc:
        raise InputError(f"{_what(release)}: {exc}") from None


def _chart_identity(config: Config, directory: Path) -> tuple[str, str]:
    """A local chart's name and version from its Chart.yaml."""
    return runmemo.remembered(
        ("chart identity", directory), lambda: read_chart_identity(config, directory)
    )


def read_chart_identity(config: Config, directory: Path) -> tuple[str, str]:
    """A chart's name and version from its Chart.yaml, read afresh."""
    metadata = yamlfile.load(directory / "Chart.yaml", root=config.root, last_key_wins=True)
    data = metadata.data if isinstance(metadata.data, dict) else {}
    name, version = data.get("name"), data.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        raise InputError(f"{metadata.where()}: a chart needs `name` and `version` strings")
    return name, version


def resolve_local(config: Config, release: Release, chart: LocalChart) -> ResolvedRelease:
    """A local chart directory: its Chart.yaml version must satisfy the release's constraint."""
    check_constraint(release)
    digest = directory_digest(chart.path, config.root)  # first: it refuses links out of the repo
    name, version = _chart_identity(config, chart.path)
    if release.version and not semver.satisfies(release.version, version):
        raise InputError(
            f"{release.location}: release {release.name}: local chart {name} is version "
            f"{version}, which does not satisfy {release.version!r}: change the constraint "
            "or the chart's version"
        )
    return ResolvedRelease(release, name, version, digest, chart.path, None)


def work_tree_identity(config: Config, directory: Path) -> tuple[str, str]:
    """The name and version a local chart's Chart.yaml gives in the work tree."""
    return _chart_identity(config, directory)


# --- the download cache ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChartCache:
    """Blobs (chart archives, OCI manifests) stored by their sha256.

    Each blob is written to a temporary file beside its final name and renamed into place,
    so two processes filling the cache at once both end up with one whole file; a reader
    re-checks the hash, so a damaged file is fetched again rather than trusted.
    """

    root: Path

    @classmethod
    def default(cls) -> ChartCache:
        return cls(paths.cache_dir() / "charts" / "sha256")

    def path(self, digest: str) -> Path:
        return self.root / f"{digest.removeprefix('sha256:')}.blob"

    def get(self, digest: str) -> Path | None:
        path = self.path(digest)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        return path if oci.sha256_digest(data) == digest else None

    def put(self, data: bytes) -> tuple[str, Path]:
        digest = oci.sha256_digest(data)
        path = self.path(digest)
        if self.get(digest) is not None:
            return digest, path
        atomicfiles.replace_file(path, data)
        return digest, path


# --- HTTP index repositories ----------------------------------------------------------------


@dataclass(frozen=True)
class IndexEntry:
    version: str
    urls: tuple[str, ...]


@dataclass(frozen=True)
class Index:
    url: str  # where index.yaml was fetched from, for resolving relative chart URLs
    entries: dict[str, tuple[IndexEntry, ...]] = field(hash=False)


def parse_index(data: bytes, *, url: str, what: str) -> Index:
    """An index.yaml's chart entries; a malformed index is one clear error."""
    problem = f"{what}: {url} is not a valid Helm repository index"
    try:
        # The same hostile-input checks as any YAML (aliases, nesting), without the 10 MiB
        # limit for human-written files: big public indexes exceed it.
        raw = yamlfile.load_text(
            data, name="index.yaml", max_bytes=http.MAX_BYTES, last_key_wins=True
        ).data
    except InputError as exc:
        raise InputError(f"{problem}: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("entries"), dict):
        raise InputError(
            f"{problem}: it has no `entries` mapping; check that the repository URL points at "
            "a Helm repository (the directory holding index.yaml)"
        )
    entries: dict[str, tuple[IndexEntry, ...]] = {}
    for name, versions in raw["entries"].items():
        if not isinstance(name, str) or not isinstance(versions, list):
            raise InputError(f"{problem}: entries.{name} must be a list of chart versions")
        entries[name] = tuple(e for item in versions if (e := _index_entry(item)) is not None)
    return Index(url=url, entries=entries)


def _index_entry(item: Any) -> IndexEntry | None:
    """One chart version of an index; entries helm would skip (no version) are skipped."""
    if not isinstance(item, dict):
        return None
    version, urls = item.get("version"), item.get("urls")
    if not isinstance(version, str) or not isinstance(urls, list):
        return None
    return IndexEntry(version, tuple(u for u in urls if isinstance(u, str)))


# --- the sources of one run -----------------------------------------------------------------


@dataclass
class ChartSources:
    """Resolving and fetching charts for one run: each repository index is fetched once,
    however many environments and releases use it."""

    config: Config
    cache: ChartCache = field(default_factory=ChartCache.default)
    registry: oci.Registry = field(default_factory=oci.Registry)
    _indexes: dict[str, Index] = field(default_factory=dict)
    _tags: dict[str, list[str]] = field(default_factory=dict)
    _downloads: dict[str, bytes] = field(default_factory=dict)  # archive URL -> its bytes

    def resolve(self, release: Release) -> ResolvedRelease:
        """The version Helm would pick for the release's constraint, downloaded and hashed."""
        check_constraint(release)
        chart = release.chart
        if isinstance(chart, LocalChart):
            return resolve_local(self.config, release, chart)
        if isinstance(chart, RepoChart):
            index = self.index(chart)
            versions = [e.version for e in self._versions(index, chart, release)]
            version = semver.select(release.version, versions)
            if version is None:
                raise self._none_satisfies(release, versions, f"{chart.url} (chart {chart.name})")
            return self._download_http(release, chart, index, version, expected=None)
        ref = oci.parse_reference(chart.url)
        what = _what(release)
        tags = self._oci_tags(ref, what)
        version = semver.select_oci(release.version, tags)
        if version is None:
            shown = [tag.replace("_", "+") for tag in tags]
            raise self._none_satisfies(release, shown, chart.url)
        return self._download_oci(release, chart, ref, version, expected=None)

    def fetch(self, release: Release, *, version: str, digest: str) -> ResolvedRelease:
        """Exactly the locked version, verified against the locked digest (from the cache
        without any network access when it is there)."""
        chart = release.chart
        if isinstance(chart, LocalChart):
            return resolve_local(self.config, release, chart)
        if isinstance(chart, RepoChart):
            cached = self.cache.get(digest)
            if cached is not None:
                return ResolvedRelease(release, chart.name, version, digest, cached, chart.url)
            return self._download_http(release, chart, self.index(chart), version, expected=digest)
        ref = oci.parse_reference(chart.url)
        archive = self._cached_oci_archive(digest)
        if archive is not None:
            return ResolvedRelease(release, chart.name, version, digest, archive, ref.base)
        return self._download_oci(release, chart, ref, version, expected=digest)

    # HTTP repositories

    def index(self, chart: RepoChart) -> Index:
        if chart.url not in self._indexes:
            what = f"repository '{chart.repository}'"
            url = f"{chart.url}/index.yaml"
            response = http.get_ok(
                url,
                what=what,
                expected=f"check repositories.{chart.repository} in toolkit.yaml: it must be the "
                "URL of a Helm repository (the directory holding index.yaml)",
            )
            self._indexes[chart.url] = parse_index(response.body, url=response.url, what=what)
        return self._indexes[chart.url]

    def _versions(self, index: Index, chart: RepoChart, release: Release) -> tuple[IndexEntry, ...]:
        entries = index.entries.get(chart.name)
        if not entries:
            raise InputError(
                f"{_what(release)}: repository '{chart.repository}' ({chart.url}) has no chart "
                f"'{chart.name}'{yamlfile.did_you_mean(chart.name, index.entries)}; "
                f"it has {len(index.entries)} charts"
            )
        return entries

    def _download_http(
        self, release: Release, chart: RepoChart, index: Index, version: str, expected: str | None
    ) -> ResolvedRelease:
        what = _what(release)
        entry = next(
            (e for e in self._versions(index, chart, release) if e.version == version), None
        )
        if entry is None or not entry.urls:
            raise InputError(
                f"{what}: repository '{chart.repository}' no longer lists {chart.name} {version}"
                f"{'' if entry is None else ' with a download URL'}; run `toolkit lock "
                f"--upgrade {release.name}` to choose another version"
            )
        url = urllib.parse.urljoin(index.url, entry.urls[0])
        if url not in self._downloads:  # environments sharing a version download it once
            response = http.get_ok(
                url,
                what=what,
                expected=f"the repository's index.yaml names this URL for {chart.name} {version}, "
                "but the server does not have it; tell the repository's maintainers",
            )
            self._downloads[url] = response.body
        body = self._downloads[url]
        _verify(release, expected, oci.sha256_digest(body), f"{chart.name} {version}")
        digest, path = self.cache.put(body)
        return ResolvedRelease(release, chart.name, version, digest, path, chart.url)

    # OCI registries

    def _oci_tags(self, ref: oci.Reference, what: str) -> list[str]:
        if ref.url not in self._tags:
            self._tags[ref.url] = self.registry.tags(ref, what=what)
        return self._tags[ref.url]

    def _cached_oci_archive(self, manifest_digest: str) -> Path | None:
        manifest = self.cache.get(manifest_digest)
        if manifest is None:
            return None
        try:
            layer = oci.chart_layer(manifest.read_bytes(), what="cache")
        except FetchError:
            return None
        return self.cache.get(layer)

    def _download_oci(
        self,
        release: Release,
        chart: OciChart,
        ref: oci.Reference,
        version: str,
        expected: str | None,
    ) -> ResolvedRelease:
        what = _what(release)
        digest, manifest = self.registry.manifest(ref, oci.tag_of(version), what=what)
        _verify(release, expected, digest, f"{chart.url}:{oci.tag_of(version)}")
        archive = self.registry.blob(ref, oci.chart_layer(manifest, what=what), what=what)
        self.cache.put(manifest)
        _, path = self.cache.put(archive)
        return ResolvedRelease(release, chart.name, version, digest, path, ref.base)

    def _none_satisfies(self, release: Release, versions: list[str], where: str) -> InputError:
        constraint = release.version or "*"
        near = semver.nearest(constraint, versions) if versions else []
        listed = f"nearest available: {', '.join(near)}" if near else "it lists no versions"
        return InputError(
            f"{_what(release)}: no version of {where} satisfies {constraint!r}; {listed}; "
            "change the constraint in releases.yaml"
        )


def _verify(release: Release, expected: str | None, actual: str, what: str) -> None:
    if expected is not None and expected != actual:
        raise InputError(
            f"{_what(release)}: {what} has digest {actual}, but releases.lock pins {expected}: "
            "the chart changed on the server since it was locked. If the change is expected, "
            f"run `toolkit lock --upgrade {release.name}`; otherwise find out who replaced it"
        )
