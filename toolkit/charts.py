"""Chart sources: where each release's chart comes from, which version, and its digest."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit import semver, yamlfile
from toolkit.config import Config, LocalChart, Release
from toolkit.errors import InputError


@dataclass(frozen=True)
class ResolvedRelease:
    """A release with the exact chart it renders."""

    release: Release
    chart_name: str
    version: str
    digest: str
    path: Path
    repository: str | None


# A run's releases often share a chart (a fleet renders one chart hundreds of times): within
# `memoised()`, each chart directory is read and hashed once. Files are taken not to change
# during a run; outside it nothing is remembered, so nothing can go stale between runs.
_memo: ContextVar[dict[tuple[str, Path], Any] | None] = ContextVar("charts_memo", default=None)


@contextmanager
def memoised() -> Iterator[None]:
    """Remember chart digests and Chart.yaml identities until the block ends."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def directory_digest(directory: Path) -> str:
    """A content hash of a chart directory: each file's relative path and bytes, sorted."""
    memo = _memo.get()
    if memo is not None and ("digest", directory) in memo:
        return str(memo["digest", directory])
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).as_posix()
        digest.update(relative.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    result = f"sha256:{digest.hexdigest()}"
    if memo is not None:
        memo["digest", directory] = result
    return result


def _chart_identity(config: Config, directory: Path) -> tuple[str, str]:
    """A local chart's name and version from its Chart.yaml."""
    memo = _memo.get()
    if memo is not None and ("identity", directory) in memo:
        name, version = memo["identity", directory]
        return str(name), str(version)
    metadata = yamlfile.load(directory / "Chart.yaml", root=config.root)
    data = metadata.data if isinstance(metadata.data, dict) else {}
    name, version = data.get("name"), data.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        raise InputError(f"{metadata.where()}: a chart needs `name` and `version` strings")
    if memo is not None:
        memo["identity", directory] = (name, version)
    return name, version


def resolve_local(config: Config, release: Release, chart: LocalChart) -> ResolvedRelease:
    """A local chart directory: its Chart.yaml version must satisfy the release's constraint."""
    name, version = _chart_identity(config, chart.path)
    if release.version and not semver.satisfies(release.version, version):
        raise InputError(
            f"{release.location}: release {release.name}: local chart {name} is version "
            f"{version}, which does not satisfy {release.version!r}: change the constraint "
            "or the chart's version"
        )
    return ResolvedRelease(release, name, version, directory_digest(chart.path), chart.path, None)


def resolve(config: Config, release: Release) -> ResolvedRelease:
    """The exact chart a release renders."""
    if isinstance(release.chart, LocalChart):
        return resolve_local(config, release, release.chart)
    raise InputError(
        f"{release.location}: release {release.name}: chart repositories are not supported yet"
    )
