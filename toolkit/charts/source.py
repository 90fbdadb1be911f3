"""The `ChartSource` interface: one chart at one place (a local directory, an HTTP
repository, an OCI registry), which resolves a constraint to a version, fetches a locked
version into the verified content cache, and says how helm would name it.

Each kind lives in its own module (localsource, reposource, ocisource); `chartsource` picks
the one a chart reference needs. Credentials and TLS settings plug in below them, in the HTTP
client each remote kind is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from toolkit.charts import semver
from toolkit.infra.errors import InputError


@dataclass(frozen=True)
class Requester:
    """Who asks for a chart, for the messages a source gives: a release, or a dependency in a
    chart's Chart.yaml."""

    what: str  # e.g. "overlays/dev/releases.yaml:3: release api"
    upgrade: str  # the command that chooses another version, e.g. "toolkit lock --upgrade api"
    constraint_file: str  # where the constraint is written: releases.yaml, or a Chart.yaml


@dataclass(frozen=True)
class ChartVersion:
    """One exact chart: its name, version, digest, and where it is on this machine."""

    name: str
    version: str
    digest: str  # sha256 of the archive, the OCI manifest digest, or a local directory's hash
    path: Path  # the chart directory, or the verified archive in the cache
    repository: str | None  # an https:// index repository, an oci:// base, None for local


class ChartSource(Protocol):
    """One chart at one place."""

    @property
    def repository(self) -> str | None:
        """What the lock records as the chart's repository (None for a local chart)."""

    def chart_name(self) -> str:
        """The chart's name, as the lock records it."""

    def resolve(self, constraint: str | None, requester: Requester) -> ChartVersion:
        """The version helm would pick for `constraint`, fetched and verified."""

    def present(self, constraint: str | None, requester: Requester) -> ChartVersion | None:
        """The chart as it is on this machine, without downloading (a local directory, checked
        against `constraint`); None for a remote chart."""

    def fetch(self, version: str, digest: str, requester: Requester) -> ChartVersion:
        """Exactly `version`, verified against `digest` (from the cache without network access
        when it is there)."""

    def helm_argument(self, version: str) -> str:
        """The chart as a user would pass it to helm, with no path of this machine."""


def check_constraint(constraint: str | None, what: str) -> None:
    """An invalid constraint is an error naming who wrote it."""
    try:
        semver.parse_constraint(constraint or "*")
    except InputError as exc:
        raise InputError(f"{what}: {exc}") from None


def none_satisfies(
    requester: Requester, constraint: str | None, versions: list[str], where: str
) -> InputError:
    constraint = constraint or "*"
    near = semver.nearest(constraint, versions) if versions else []
    listed = f"nearest available: {', '.join(near)}" if near else "it lists no versions"
    return InputError(
        f"{requester.what}: no version of {where} satisfies {constraint!r}; {listed}; "
        f"change the constraint in {requester.constraint_file}"
    )


def verify(requester: Requester, expected: str | None, actual: str, what: str) -> None:
    """A download whose digest is not the locked one is refused."""
    if expected is not None and expected != actual:
        raise InputError(
            f"{requester.what}: {what} has digest {actual}, but releases.lock pins {expected}: "
            "the chart changed on the server since it was locked. If the change is expected, "
            f"run `{requester.upgrade}`; otherwise find out who replaced it"
        )
