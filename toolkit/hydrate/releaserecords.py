"""The releases an environment's hydrator.metadata lists, as records: made from a render's
resolved releases, listed as the file has them, and read back. Loaded only by a run that writes
metadata or reads its releases; a hydrate with nothing to do does neither."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolkit.hydrate.metadata import text_field

if TYPE_CHECKING:
    from toolkit.charts.chartsource import ResolvedRelease


@dataclass(frozen=True)
class DependencyRecord:
    """One dependency toolkit filled into a local chart's `charts/` (vendored ones are part of
    the chart's own digest): its name in the parent (alias or name), chart, version, digest."""

    name: str
    chart: str
    version: str
    digest: str


@dataclass(frozen=True)
class ReleaseRecord:
    """One Helm release as the metadata names it (a remote chart by its repository URL or
    `oci://` reference, never by a path on the machine that rendered)."""

    name: str
    namespace: str
    chart: str
    version: str
    digest: str
    repository: str | None = None
    create_namespace: bool = False
    dependencies: tuple[DependencyRecord, ...] = ()  # sorted by name


def of_resolved(releases: Iterable[ResolvedRelease]) -> tuple[ReleaseRecord, ...]:
    """A render's releases as the metadata names them."""
    return tuple(
        ReleaseRecord(
            name=r.release.name,
            namespace=r.release.namespace,
            chart=r.chart_name,
            version=r.version,
            digest=r.digest,
            repository=r.repository,
            create_namespace=r.release.create_namespace,
            dependencies=tuple(
                DependencyRecord(d.key, d.chart.name, d.chart.version, d.chart.digest)
                for d in sorted(r.dependencies, key=lambda d: d.key)
            ),
        )
        for r in releases
    )


def listing(releases: Iterable[ReleaseRecord]) -> tuple[dict[str, Any], ...]:
    """Releases as the file lists them."""
    return tuple(
        {
            "name": r.name,
            "namespace": r.namespace,
            "chart": r.chart,
            "version": r.version,
            "digest": r.digest,
            **({"repository": r.repository} if r.repository else {}),
            **({"createNamespace": True} if r.create_namespace else {}),
            # Absent where there are none, so charts without them keep their bytes.
            **({"dependencies": _dependencies(r)} if r.dependencies else {}),
        }
        for r in releases
    )


def _dependencies(release: ReleaseRecord) -> list[dict[str, str]]:
    return [
        {"name": d.name, "chart": d.chart, "version": d.version, "digest": d.digest}
        for d in release.dependencies
    ]


def read(listed: Iterable[Mapping[str, Any]]) -> tuple[ReleaseRecord, ...]:
    """The records of releases as the file lists them (a field of the wrong type reads as
    absent)."""
    return tuple(
        ReleaseRecord(
            name=_string(entry, "name"),
            namespace=_string(entry, "namespace"),
            chart=_string(entry, "chart"),
            version=_string(entry, "version"),
            digest=_string(entry, "digest"),
            repository=text_field(entry, "repository"),
            create_namespace=entry.get("createNamespace") is True,
            dependencies=_parse_dependencies(entry.get("dependencies")),
        )
        for entry in listed
    )


def _string(within: Mapping[str, Any], key: str) -> str:
    """A record's field as text ("" where the file left it out)."""
    return str(within.get(key, ""))


def _parse_dependencies(listed: Any) -> tuple[DependencyRecord, ...]:
    if not isinstance(listed, list):
        return ()
    return tuple(
        DependencyRecord(
            name=_string(entry, "name"),
            chart=_string(entry, "chart"),
            version=_string(entry, "version"),
            digest=_string(entry, "digest"),
        )
        for entry in listed
        if isinstance(entry, dict)
    )
