"""Kustomize's `helmCharts:` with toolkit's helm: each chart fetched by toolkit (its cache, its
credentials) and unpacked where kustomize looks for it, in a copy of the build's inputs, so
kustomize never downloads and never writes into the source tree.

Kustomize 5 looks for a chart in `<chartHome>/<name>-<version>/<name>` (chartHome from
`helmGlobals:`, default `charts`, relative to the kustomization) and pulls it there when it is
missing; with it present, it only runs `helm template`. Its inflator first asks `helm version
-c --short`, which helm 4 refuses (and kustomize 5.7 then wants a v3): the helm it is given is
a shim answering that one call, everything else going to the real helm.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from toolkit.charts import chartsource
from toolkit.charts.source import Requester
from toolkit.config.project import Config
from toolkit.config.releases import KUSTOMIZATION_FILES, chart_at
from toolkit.infra import atomicfiles, paths, yamlfile
from toolkit.infra.errors import InputError
from toolkit.render.tools import Tool


@dataclass(frozen=True)
class InflatedChart:
    """One `helmCharts:` entry's chart, fetched and verified."""

    place: Path  # where kustomize looks for it, from the configuration's root
    archive: Path  # the verified archive in the cache
    digest: str


def find(
    config: Config, files: Sequence[Path], sources: chartsource.ChartSources
) -> tuple[InflatedChart, ...]:
    """The charts the kustomizations among `files` inflate, fetched (the exact `version:`
    each names); charts kustomize finds in place (vendored) are left to it."""
    found = []
    for path in files:
        if path.name not in KUSTOMIZATION_FILES or b"helmCharts" not in path.read_bytes():
            continue
        doc = yamlfile.load(path, root=config.root)
        data = doc.data if isinstance(doc.data, dict) else {}
        charts = data.get("helmCharts")
        if not isinstance(charts, list):
            continue
        if not path.is_relative_to(config.root):
            raise InputError(
                f"{doc.where('helmCharts')}: helmCharts: in a kustomization outside the "
                "repository are not supported; move the base into the repository"
            )
        settings = data.get("helmGlobals")
        chart_home = settings.get("chartHome") if isinstance(settings, dict) else None
        home = path.parent / str(chart_home or "charts")
        for index, entry in enumerate(charts):
            chart = _inflated(config, doc, index, entry, home, sources)
            if chart is not None:
                found.append(chart)
    return tuple(found)


def _inflated(
    config: Config,
    doc: yamlfile.YamlDocument,
    index: int,
    entry: object,
    home: Path,
    sources: chartsource.ChartSources,
) -> InflatedChart | None:
    where = doc.where("helmCharts", index)
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise InputError(f"{where}: a helmCharts entry needs a name")
    name, repo, version = entry["name"], entry.get("repo"), entry.get("version")
    if not repo:
        return None  # a chart in chartHome: kustomize reads it as it is
    if not isinstance(version, str) or not version:
        raise InputError(
            f"{where}: helmCharts {name} has no version: pin one (version: x.y.z), so that "
            "the render does not change when the repository publishes a new one"
        )
    reference = chart_at(str(repo), name, label=str(repo))
    place = home / f"{name}-{version}" / name
    if place.is_dir():
        return None
    requester = Requester(f"{where}: helmCharts {name}", "change its version", doc.display)
    fetched = sources.source(reference).resolve(version, requester)
    return InflatedChart(place.relative_to(config.root), fetched.path, fetched.digest)


def digest(charts: Sequence[InflatedChart]) -> str:
    """What the charts add to a kustomize render's inputs."""
    text = "\0".join(f"{c.place.as_posix()}\0{c.digest}" for c in charts)
    return hashlib.sha256(text.encode()).hexdigest()


@contextmanager
def build_tree(
    root: Path, files: Sequence[Path], charts: Sequence[InflatedChart]
) -> Iterator[Path]:
    """A temporary copy of the build's input files (by their path from `root`) with each
    chart unpacked where kustomize looks for it; its root."""
    with tempfile.TemporaryDirectory(prefix="toolkit-helmcharts-") as directory:
        top = Path(directory)
        for path in files:
            if path.is_relative_to(root):
                copy = top / path.relative_to(root)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, copy)
        for chart in charts:
            import tarfile  # here, not above: only a kustomization with helmCharts pays for it

            target = top / chart.place.parent
            target.mkdir(parents=True, exist_ok=True)
            with tarfile.open(chart.archive) as archive:
                archive.extractall(target, filter="data")
        yield top


def helm_shim(helm: Tool) -> Path:
    """A helm for kustomize's inflator: `version` answered without `-c` (which helm 4 refuses),
    everything else passed to `helm` as it is."""
    # kustomize 5.7 refuses any helm whose version is not v3.*; helm 4 takes every argument
    # its inflator passes to `helm template`, so the shim answers for it as a v3.
    version = "v3.0.0+toolkit" if helm.version.startswith("v4") else helm.version
    text = (
        "#!/bin/sh\n"
        "# Written by toolkit for kustomize's helmCharts (helm 4 has no `version -c`).\n"
        f'if [ "$1" = version ]; then echo "{version}"; exit 0; fi\n'
        f'exec "{helm.path}" "$@"\n'
    )
    name = f"helm-for-kustomize-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    shim = paths.cache_dir() / "tools" / name
    if not shim.is_file():
        atomicfiles.replace_file(shim, text.encode(), mode=0o755)
    return shim
