"""An environment's render jobs, planned: its releases resolved (charts, lock, dependencies),
values merged, kustomize inputs found, and every input hashed; the plans `pipeline.Planner`
makes of them, per environment and per run.

Only an environment that may have changed is planned; `pipeline.Planner` imports this module
when it plans the first one, so a run with nothing to render never loads the chart sources.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from toolkit.charts import chartsource, localsource, locking
from toolkit.config.project import Config, Environment
from toolkit.config.releases import EnvironmentSpec, load_environment
from toolkit.manifests.scopes import GroupKind
from toolkit.render import cache, helmcharts, kustomizeinputs, postrender, runs, tools, values
from toolkit.render.tools import Tool


@dataclass(frozen=True)
class EnvironmentJobs:
    """An environment's render jobs, with what they were planned from."""

    spec: EnvironmentSpec
    releases: tuple[chartsource.ResolvedRelease, ...]
    jobs: tuple[runs.RenderJob, ...]
    warnings: tuple[str, ...]
    environments_read: tuple[str, ...] | None


@dataclass(frozen=True)
class EnvironmentPlan:
    """One environment before rendering: its jobs, and a hash of every input they read.

    The hash is known before anything renders, so an environment whose hash is already on the
    rendered branch need not render at all.
    """

    spec: EnvironmentSpec
    releases: tuple[chartsource.ResolvedRelease, ...]
    jobs: tuple[runs.RenderJob, ...]
    commands: tuple[str, ...]
    tool_versions: Mapping[str, str]
    input_hash: str
    warnings: tuple[str, ...] = ()  # e.g. a stale releases.lock resolved in memory
    # The environments whose directories the inputs come from (this one included);
    # None when they are not files alone (a release resolved in memory from a repository).
    environments_read: tuple[str, ...] | None = None
    # toolkit.yaml's clusterScopedKinds.
    cluster_scoped: frozenset[GroupKind] = frozenset()

    @property
    def name(self) -> str:
        return self.spec.environment.name


@dataclass(frozen=True)
class RunPlan:
    """Every environment of a run, and the tools their jobs need."""

    environments: tuple[EnvironmentPlan, ...]
    helm: tools.Tool | None
    kustomize: tools.Tool | None


def environment_jobs(
    config: Config,
    environment: Environment,
    file_digests: dict[Path, bytes],
    sources: chartsource.ChartSources,
    locked: bool,
) -> EnvironmentJobs:
    spec = load_environment(config, environment)
    resolution = locking.resolve_environment(sources, spec, locked=locked)
    resolved = resolution.releases
    reads: set[Path] = set()  # every path the inputs come from, for `environments_read`
    jobs: list[runs.RenderJob] = []
    for r in resolved:
        merged = values.merged_values(r.release, environment, root=config.root)
        reads.update(merged.files)
        local = [r.path] if r.repository is None and r.tree is None else []  # a tree: from git
        local += [d.chart.path for d in r.dependencies if d.chart.repository is None]
        for directory in local:
            reads.update(localsource.directory_reads(directory, config.root))
        chart = r.chart_to_render()
        post_render = postrender.kustomization(r.release.patches)
        reads.update(patch.path for patch in r.release.patches if patch.path is not None)
        jobs.append(
            runs.HelmRender(
                environment, r.release, chart, merged.values, r.render_digest, post_render
            )
        )
    if spec.kustomization is not None:
        inputs = kustomizeinputs.find(config, environment)
        reads.update(inputs.files)
        reads.update(inputs.named)
        digest = kustomizeinputs.digest(config, spec.kustomization, inputs.files, file_digests)
        charts = helmcharts.find(config, inputs.files, sources)
        jobs.append(
            runs.KustomizeRender(
                environment, spec.kustomization, digest, charts, tuple(inputs.files), config.root
            )
        )
    read = None if resolution.warnings else _environments_read(config, environment, reads)
    return EnvironmentJobs(spec, resolved, tuple(jobs), resolution.warnings, read)


def _environments_read(
    config: Config, environment: Environment, paths: Collection[Path]
) -> tuple[str, ...] | None:
    """The environments whose directories `paths` lie in, `environment` always; None when a
    path lies outside the repository (a kustomize base above it), where no later hydrate looks
    for changes."""
    read = {environment.name}
    for path in paths:
        if not path.is_relative_to(config.root):
            return None
        owner = config.owner_of(path.relative_to(config.root).as_posix())
        if owner is not None:
            read.add(owner)
    return tuple(sorted(read))


def commands(
    config: Config,
    releases: Sequence[chartsource.ResolvedRelease],
    jobs: Sequence[runs.RenderJob],
    helm: Tool | None,
    kustomize: Tool | None,
) -> tuple[str, ...]:
    """The equivalent command lines, with repository-relative paths (no machine paths)."""
    lines = []
    for job in jobs:
        if isinstance(job, runs.HelmRender) and helm is not None:
            resolved = next(r for r in releases if r.release is job.release)
            args = runs.helm_template_args(job, resolved.helm_argument)
            lines.append(" ".join(["helm", *args]))
        elif isinstance(job, runs.KustomizeRender) and kustomize is not None:
            directory = job.directory.relative_to(config.root).as_posix()
            line = tools.kustomize_command_line(kustomize, directory)
            lines.append(
                line.replace(" build ", " build --enable-helm ", 1) if job.helm_charts else line
            )
    return tuple(lines)


def input_hash(
    environment: Environment,
    releases: Sequence[chartsource.ResolvedRelease],
    jobs: Sequence[runs.RenderJob],
    commands: Sequence[str],
    cluster_scoped: Collection[GroupKind],
) -> str:
    """A hash of everything that can change an environment's directory on the rendered branch
    but its source commit and the tools: each render's inputs, plus what the metadata records
    and the kinds toolkit.yaml declares cluster-scoped.

    The tools are left out so that a new helm or kustomize whose output is byte for byte the
    same changes nothing on the branch: the hydrate compares the recorded tools on their own and
    renders to see (see rendered.py). The kustomize command line names its tool, so only the
    helm ones are in (each kustomize render's inputs name its directory)."""
    header = {
        "environment": environment.name,
        "clusterScopedKinds": sorted(cluster_scoped),
        "commands": [line for line in commands if line.startswith("helm ")],
        "releases": [
            [r.release.name, r.release.namespace, r.chart_name, r.version, r.digest, r.repository]
            + (["createNamespace"] if r.release.create_namespace else [])
            for r in releases
        ],
    }
    keys = [cache.key_of(*runs.job_inputs(job)) for job in jobs]
    body = cache.key_of(json.dumps(header, sort_keys=True).encode(), *(k.encode() for k in keys))
    return f"sha256:{body}"


def tool_kinds(jobs: Iterable[runs.RenderJob]) -> set[str]:
    """Which tools `jobs` run: `helm`, `kustomize` (also for a release's patches)."""
    kinds = set()
    for job in jobs:
        if isinstance(job, runs.HelmRender):
            kinds.update(["helm"] if job.post_render is None else ["helm", "kustomize"])
        else:
            kinds.update(["kustomize", "helm"] if job.helm_charts else ["kustomize"])
    return kinds
