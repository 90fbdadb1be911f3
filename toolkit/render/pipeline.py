"""config -> resolve: the one way every command plans the environments it renders.

A run is planned first (load, resolve, merge values, hash every input), then rendered by
`rendering`; the plan's per-environment input hash lets the rendered branch skip environments
that did not change.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from toolkit import __version__
from toolkit.charts import chartsource, localsource, locking
from toolkit.config.project import Config, Environment
from toolkit.config.releases import EnvironmentSpec, load_environment
from toolkit.infra import runmemo
from toolkit.manifests.layout import RenderedTree
from toolkit.manifests.scopes import GroupKind
from toolkit.render import cache, helmcharts, kustomizeinputs, postrender, runs, tools, values
from toolkit.render.settings import RenderSettings
from toolkit.render.tools import Tool


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


@dataclass(frozen=True)
class EnvironmentRender:
    """One environment rendered: what it asked for, what it resolved to, and its files."""

    spec: EnvironmentSpec
    releases: tuple[chartsource.ResolvedRelease, ...]
    tree: RenderedTree
    commands: tuple[str, ...]
    tool_versions: Mapping[str, str]
    input_hash: str
    renders: int = 0  # how many helm and kustomize renders the environment needed
    cached: int = 0  # how many of them the render cache answered
    environments_read: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        return self.spec.environment.name


@dataclass(frozen=True)
class _Jobs:
    spec: EnvironmentSpec
    releases: tuple[chartsource.ResolvedRelease, ...]
    jobs: tuple[runs.RenderJob, ...]
    warnings: tuple[str, ...]
    environments_read: tuple[str, ...] | None


def _jobs(
    config: Config,
    environment: Environment,
    file_digests: dict[Path, bytes],
    sources: chartsource.ChartSources,
    locked: bool,
) -> _Jobs:
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
    return _Jobs(spec, resolved, tuple(jobs), resolution.warnings, read)


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
        owner = config.owner_of(_relative(config, path))
        if owner is not None:
            read.add(owner)
    return tuple(sorted(read))


def _relative(config: Config, path: Path) -> str:
    return path.relative_to(config.root).as_posix()


def _commands(
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
            line = _kustomize_command(config, kustomize, job.directory)
            lines.append(
                line.replace(" build ", " build --enable-helm ", 1) if job.helm_charts else line
            )
    return tuple(lines)


def _kustomize_command(
    config: Config, kustomize: Tool, directory: Path, *, helm: bool = False
) -> str:
    prefix = "kustomize build" if kustomize.command[-1] == "build" else "kubectl kustomize"
    return f"{prefix}{' --enable-helm' if helm else ''} {_relative(config, directory)}"


def _input_hash(
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


class Planner:
    """Plans environments on demand, each at most once per run, with the tools found once.

    A hydrate asks only for the environments whose inputs may have changed; the others are
    never loaded.
    """

    def __init__(
        self,
        config: Config,
        environments: Sequence[Environment],
        settings: RenderSettings = RenderSettings(),
    ) -> None:
        self.config = config
        self.environments = tuple(environments)
        # Its reporter hears each warning (a stale lock resolved in memory) as it is found.
        self.settings = settings
        self._sources = chartsource.ChartSources(config)  # each repository index fetched once a run
        self._file_digests: dict[Path, bytes] = {}
        self._plans: dict[str, EnvironmentPlan] = {}
        self._tools: dict[str, Tool] = {}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(env.name for env in self.environments)

    @property
    def planned(self) -> tuple[str, ...]:
        """The environments planned so far."""
        return tuple(name for name in self.names if name in self._plans)

    def plans(self, names: Collection[str]) -> tuple[EnvironmentPlan, ...]:
        """The named environments planned (in the run's order), planning those not yet."""
        missing = [e for e in self.environments if e.name in names and e.name not in self._plans]
        if missing:
            self._plan(missing)
        return tuple(self._plans[e.name] for e in self.environments if e.name in names)

    def run_plan(self, names: Collection[str]) -> RunPlan:
        """The named environments, and the tools their jobs need, ready to render."""
        plans = self.plans(names)
        found = self._find_tools(_tool_kinds(job for p in plans for job in p.jobs))
        return RunPlan(plans, found.get("helm"), found.get("kustomize"))

    def tool_versions(self, kinds: Collection[str]) -> dict[str, str]:
        """toolkit's version, and those of the named tools (`helm`, `kustomize`) as found."""
        versions = {"toolkit": __version__}
        versions.update((kind, tool.version) for kind, tool in self._find_tools(kinds).items())
        return versions

    def kustomize_command(self, directory: Path) -> str:
        """The command line a render of `directory` is recorded under, with the found tool."""
        kustomize = self._find_tools({"kustomize"})["kustomize"]
        return _kustomize_command(self.config, kustomize, directory)

    def _find_tools(self, kinds: Collection[str]) -> dict[str, Tool]:
        finders = {"helm": tools.find_helm, "kustomize": tools.find_kustomize}
        choice = self.settings.tools
        choices = {"helm": choice.helm, "kustomize": choice.kustomize}
        missing = [kind for kind in finders if kind in kinds and kind not in self._tools]
        # Each probe runs the tool once (`helm version`, `kubectl version`): side by side.
        with ThreadPoolExecutor(max_workers=2) as pool:
            probes = {
                kind: pool.submit(finders[kind], choices[kind], pin=self.config.tool_pins.get(kind))
                for kind in missing
            }
            self._tools.update((kind, probe.result()) for kind, probe in probes.items())
        return {kind: self._tools[kind] for kind in finders if kind in kinds}

    def _plan(self, environments: Sequence[Environment]) -> None:
        config = self.config
        with runmemo.run():
            planned = [
                _jobs(config, env, self._file_digests, self._sources, self.settings.locked)
                for env in environments
            ]
        found = self._find_tools(_tool_kinds(job for p in planned for job in p.jobs))
        helm, kustomize = found.get("helm"), found.get("kustomize")
        for p in planned:
            for warning in p.warnings:
                self.settings.reporter.warning(warning)
            tool_versions = self.tool_versions(_tool_kinds(p.jobs))
            commands = _commands(config, p.releases, p.jobs, helm, kustomize)
            input_hash = _input_hash(
                p.spec.environment, p.releases, p.jobs, commands, config.cluster_scoped_kinds
            )
            self._plans[p.spec.environment.name] = EnvironmentPlan(
                p.spec,
                p.releases,
                p.jobs,
                commands,
                tool_versions,
                input_hash,
                p.warnings,
                p.environments_read,
                config.cluster_scoped_kinds,
            )


def _tool_kinds(jobs: Iterable[runs.RenderJob]) -> set[str]:
    """Which tools `jobs` run: `helm`, `kustomize` (also for a release's patches)."""
    kinds = set()
    for job in jobs:
        if isinstance(job, runs.HelmRender):
            kinds.update(["helm"] if job.post_render is None else ["helm", "kustomize"])
        else:
            kinds.update(["kustomize", "helm"] if job.helm_charts else ["kustomize"])
    return kinds


def plan_environments(
    config: Config,
    environments: Sequence[Environment],
    settings: RenderSettings = RenderSettings(),
) -> RunPlan:
    """Load, resolve and hash every environment asked for, and find the tools they need.
    Charts come from each environment's releases.lock; with `settings.locked`, a stale lock is
    an error."""
    planner = Planner(config, environments, settings)
    return planner.run_plan(planner.names)
