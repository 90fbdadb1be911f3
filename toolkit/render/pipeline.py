"""config -> resolve -> render -> manifests: the one way every command renders environments.

A run is planned first (load, resolve, merge values, hash every input), then rendered; the plan's
per-environment input hash lets the rendered branch skip environments that did not change.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from toolkit import __version__
from toolkit.charts import chartsource, localsource, locking
from toolkit.config.project import Config, Environment
from toolkit.config.releases import EnvironmentSpec, load_environment
from toolkit.infra import kubeyaml, paths, runmemo
from toolkit.infra.errors import ToolkitError
from toolkit.manifests import layout, model
from toolkit.manifests.layout import RenderedTree
from toolkit.manifests.scopes import GroupKind
from toolkit.render import cache, helmcharts, kustomizeinputs, postrender, runs, tools, values
from toolkit.render.cache import RenderCache
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


def default_cache(settings: RenderSettings) -> RenderCache | None:
    """The render cache under toolkit's cache directory, or None when `settings` turn it off;
    each damaged entry discarded is a note for -v."""
    if not settings.use_cache:
        return None
    return RenderCache(
        paths.cache_dir() / "renders", lambda message: settings.reporter.note(message, level=1)
    )


def _tree(
    plan: EnvironmentPlan,
    outputs: Sequence[runs.RenderOutput],
    seen: model.ReadCache | None = None,
) -> RenderedTree:
    """An environment's outputs as its file tree (`seen`: documents the run has read)."""
    name = plan.name
    read = []
    # A CRD in one source decides the scope of its kind in every source of the environment.
    cluster_scoped: set[GroupKind] = set(plan.cluster_scoped)
    for output in outputs:
        where = f"environment {name}, {output.job.source}"
        documents = model.read_documents(output.text, where=where, seen=seen)
        cluster_scoped |= model.cluster_scoped_crds(documents)
        read.append((output, documents, where))
    resources = []
    for output, documents, where in read:
        resources += model.resources(
            documents,
            source=output.job.source,
            namespace=output.job.namespace,
            cluster_scoped=cluster_scoped,
            where=where,
        )
    resources += _created_namespaces(plan, resources)
    return layout.layout(name, resources)


# A Namespace toolkit adds for `createNamespace: true` is never pruned, as helm never deletes
# the namespace --create-namespace made nor Argo CD the one CreateNamespace=true made: taking
# a release away must not delete everything else that lives in its namespace.
_KEPT_NAMESPACE = {
    "argocd.argoproj.io/sync-options": "Prune=false",
    "kustomize.toolkit.fluxcd.io/prune": "disabled",
}


def _created_namespaces(
    plan: EnvironmentPlan, rendered: Sequence[model.Resource]
) -> list[model.Resource]:
    """The Namespace of each release with `createNamespace: true`, under that release, where
    no source of the environment renders it already (the first such release adds it)."""
    present = {r.id.name for r in rendered if (r.id.group, r.id.kind) == ("", "Namespace")}
    added: list[model.Resource] = []
    for r in plan.releases:
        namespace = r.release.namespace
        if not r.release.create_namespace or namespace in present:
            continue
        present.add(namespace)
        document = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "annotations": dict(_KEPT_NAMESPACE)},
        }
        added += model.parse(
            kubeyaml.dump(document),
            source=r.release.name,
            namespace=None,
            where=f"release {r.release.name}",
        )
    return added


def render_plan(
    plan: RunPlan,
    *,
    parallel: int,
    cache: RenderCache | None = None,
    only: Collection[str] | None = None,
    failed: Callable[[str, ToolkitError], None] | None = None,
    on_environment: Callable[[str, int, int], None] | None = None,
) -> list[EnvironmentRender]:
    """Render the planned environments (or `only` those named), all renders of the run in
    parallel (answered from `cache` where it holds them). The first failure is raised; with
    `failed` (--keep-going), it is told of each environment that fails to render or to lay
    out, with the first error of that environment, and the others are returned.
    `on_environment` hears of each environment as soon as its last render is done: its name,
    how many renders it took and how many of them the cache answered.

    Each environment's outputs are parsed and laid out on a worker thread as soon as its last
    render is done, while the others' renders go on, rather than all of them at the end.
    """
    wanted = [p for p in plan.environments if only is None or p.name in only]
    by_name = {p.name: p for p in wanted}
    all_jobs = [job for p in wanted for job in p.jobs]
    position = {id(job): index for index, job in enumerate(all_jobs)}
    by_env: dict[str, list[runs.RenderOutput]] = defaultdict(list)
    trees: dict[str, Future[RenderedTree]] = {}
    seen: model.ReadCache = {}  # a document read in one environment is not read again
    with ThreadPoolExecutor(max_workers=1) as worker:

        def done(output: runs.RenderOutput) -> None:
            env = output.job.environment.name
            outputs = by_env[env]
            outputs.append(output)
            if len(outputs) == len(by_name[env].jobs):
                outputs.sort(key=lambda o: position[id(o.job)])  # in job order, as planned
                trees[env] = worker.submit(_tree, by_name[env], list(outputs), seen)
                if on_environment is not None:
                    on_environment(env, len(outputs), sum(1 for o in outputs if o.cached))

        failures: dict[str, ToolkitError] = {}

        def broke(job: runs.RenderJob, error: ToolkitError) -> None:
            failures.setdefault(job.environment.name, error)

        try:
            runs.render_all(
                all_jobs,
                helm=plan.helm,
                kustomize=plan.kustomize,
                parallel=parallel,
                cache=cache,
                on_output=done,
                on_failure=None if failed is None else broke,
            )
        except BaseException:  # a failed render, or Ctrl-C: no use laying out the rest
            worker.shutdown(cancel_futures=True)
            raise
        results = []
        for p in wanted:
            env_outputs = by_env[p.name]
            error = failures.get(p.name)
            if error is None:
                try:
                    tree = (
                        trees[p.name].result() if p.name in trees else _tree(p, env_outputs, seen)
                    )
                except ToolkitError as exc:
                    if failed is None:
                        raise
                    error = exc
            if error is not None and failed is not None:
                failed(p.name, error)
                continue
            results.append(
                EnvironmentRender(
                    p.spec,
                    p.releases,
                    tree,
                    p.commands,
                    p.tool_versions,
                    p.input_hash,
                    renders=len(env_outputs),
                    cached=sum(1 for o in env_outputs if o.cached),
                    environments_read=p.environments_read,
                )
            )
    return results


def render_environments(
    config: Config,
    environments: Sequence[Environment],
    settings: RenderSettings,
) -> list[EnvironmentRender]:
    """Render every environment asked for, all renders of the run in parallel."""
    plan = plan_environments(config, environments, settings)
    return render_plan(plan, parallel=settings.jobs, cache=default_cache(settings))
