"""The chart helm renders for a local chart with dependencies: a copy of its directory with
`charts/` filled in as `helm dependency build` fills it, kept in toolkit's cache under a hash
of the chart and its dependencies. The source tree is never written to."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from toolkit.charts.subcharts import ResolvedDependency
from toolkit.infra import paths


def built_digest(chart_digest: str, dependencies: Sequence[ResolvedDependency]) -> str:
    """The digest of what renders: the chart's, and each dependency's by its place."""
    if not dependencies:
        return chart_digest
    digest = hashlib.sha256(chart_digest.encode())
    for dependency in sorted(dependencies, key=lambda d: d.key):
        digest.update(f"\0{dependency.key}\0{dependency.chart.digest}".encode())
    return f"sha256:{digest.hexdigest()}"


def chart_to_render(
    directory: Path, chart_digest: str, dependencies: Sequence[ResolvedDependency]
) -> Path:
    """The directory helm renders: `directory` itself without dependencies to fetch, else
    the built copy (made once per content, shared by processes: it is renamed into place
    whole)."""
    if not dependencies:
        return directory
    digest = built_digest(chart_digest, dependencies).removeprefix("sha256:")
    built = paths.cache_dir() / "charts" / "built"
    final = built / digest
    if (final / "chart").is_dir():
        return final / "chart"
    built.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=built, prefix=".build-"))
    try:
        _fill(directory, staging / "chart", dependencies)
        try:
            os.rename(staging, final)
        except OSError:  # another process built the same chart first
            if not (final / "chart").is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final / "chart"


def _fill(directory: Path, copy: Path, dependencies: Sequence[ResolvedDependency]) -> None:
    shutil.copytree(directory, copy, symlinks=False)  # links inside were checked by the digest
    charts = copy / "charts"
    charts.mkdir(exist_ok=True)
    names = {d.chart.name for d in dependencies}
    # As `helm dependency build`: an archive of the same chart at another version is outdated.
    for old in charts.glob("*.tgz"):
        if old.name.rsplit("-", 1)[0] in names:
            old.unlink()
    for dependency in dependencies:
        chart = dependency.chart
        place = charts / f"{chart.name}-{chart.version}"
        if chart.path.is_dir():  # file://: helm packages it; its directory loads the same
            if not place.exists():  # two aliases of one chart share it, as in helm's charts/
                shutil.copytree(chart.path, place, symlinks=False)
        else:
            shutil.copyfile(chart.path, place.with_name(f"{place.name}.tgz"))
