"""config -> resolve -> render -> manifests: the one way every command renders environments.

A run is planned first (load, resolve, merge values, hash every input), then rendered; the plan's
per-environment input hash lets the rendered branch skip environments that did not change.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit import __version__, cache, charts, lock, manifests, render, tools, values, yamlfile
from toolkit.cache import RenderCache
from toolkit.config import (
    Config,
    Environment,
    EnvironmentSpec,
    OciChart,
    RepoChart,
    load_environment,
)
from toolkit.errors import InputError
from toolkit.manifests import RenderedTree
from toolkit.tools import Tool


@dataclass(frozen=True)
class ToolChoice:
    """Which helm and kustomize to use: explicit paths, or discovery."""

    helm: str | None = None
    kustomize: str | None = None


@dataclass(frozen=True)
class EnvironmentPlan:
    """One environment before rendering: its jobs, and a hash of every input they read.

    The hash is known before anything renders, so an environment whose hash is already on the
    rendered branch need not render at all.
    """

    spec: EnvironmentSpec
    releases: tuple[charts.ResolvedRelease, ...]
    jobs: tuple[render.RenderJob, ...]
    commands: tuple[str, ...]
    tool_versions: Mapping[str, str]
    input_hash: str
    warnings: tuple[str, ...] = ()  # e.g. a stale releases.lock resolved in memory

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
    releases: tuple[charts.ResolvedRelease, ...]
    tree: RenderedTree
    commands: tuple[str, ...]
    tool_versions: Mapping[str, str]
    input_hash: str
    renders: int = 0  # how many helm and kustomize renders the environment needed
    cached: int = 0  # how many of them the render cache answered
    warnings: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.spec.environment.name


@dataclass(frozen=True)
class _Jobs:
    spec: EnvironmentSpec
    releases: tuple[charts.ResolvedRelease, ...]
    jobs: tuple[render.RenderJob, ...]
    warnings: tuple[str, ...]


def _jobs(
    config: Config,
    environment: Environment,
    file_digests: dict[Path, bytes],
    sources: charts.ChartSources,
    locked: bool,
) -> _Jobs:
    spec = load_environment(config, environment)
    resolution = lock.resolve_environment(sources, spec, locked=locked)
    resolved = resolution.releases
    jobs: list[render.RenderJob] = [
        render.HelmRender(
            environment,
            r.release,
            r.path,
            values.merged_values(r.release, environment, root=config.root),
            r.digest,
        )
        for r in resolved
    ]
    if spec.kustomization is not None:
        digest = _kustomize_digest(config, environment, spec.kustomization, file_digests)
        jobs.append(render.KustomizeRender(environment, spec.kustomization, digest))
    return _Jobs(spec, resolved, tuple(jobs), resolution.warnings)


def _relative(config: Config, path: Path) -> str:
    return path.relative_to(config.root).as_posix()


def _chart_argument(config: Config, resolved: charts.ResolvedRelease) -> str:
    """The chart as a user would pass it to helm: a local path, or the remote chart and its
    locked version (never the cache path, which is this machine's)."""
    chart = resolved.release.chart
    if isinstance(chart, RepoChart):
        return f"{chart.name} --repo {chart.url} --version {resolved.version}"
    if isinstance(chart, OciChart):
        return f"{chart.url} --version {resolved.version}"
    return _relative(config, resolved.path)


def _commands(
    config: Config,
    releases: Sequence[charts.ResolvedRelease],
    jobs: Sequence[render.RenderJob],
    helm: Tool | None,
    kustomize: Tool | None,
) -> tuple[str, ...]:
    """The equivalent command lines, with repository-relative paths (no machine paths)."""
    lines = []
    for job in jobs:
        if isinstance(job, render.HelmRender) and helm is not None:
            resolved = next(r for r in releases if r.release is job.release)
            args = render.helm_template_args(job, _chart_argument(config, resolved))
            lines.append(" ".join(["helm", *args]))
        elif isinstance(job, render.KustomizeRender) and kustomize is not None:
            prefix = (
                ["kustomize", "build"]
                if kustomize.command[-1] == "build"
                else ["kubectl", "kustomize"]
            )
            lines.append(" ".join([*prefix, _relative(config, job.directory)]))
    return tuple(lines)


def _kustomize_inputs(config: Config, environment: Environment) -> list[Path]:
    """Files a kustomize build of `environment` can read: everything under overlays/ but the
    other environments' directories (unless this overlay names one of them)."""
    overlays = config.root / "overlays"
    own = environment.directory
    texts = " ".join(p.read_text(errors="replace") for p in own.glob("*.y*ml") if p.is_file())
    skipped = {
        other.directory
        for other in config.environments
        if other.name != environment.name and f"../{other.name}" not in texts
    }
    # Skip whole directories rather than test every file: a fleet's other environments are
    # most of overlays/, and walking them once per environment would make planning quadratic.
    found: list[Path] = []
    for entry in overlays.iterdir() if overlays.is_dir() else ():
        if entry in skipped:
            continue
        if entry.is_file():
            found.append(entry)
        elif entry.is_dir():
            found += (p for p in entry.rglob("*") if p.is_file())
    return sorted(set(found) | _kustomize_references(config, own))


_KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _kustomize_references(config: Config, start: Path) -> set[Path]:
    """Files a kustomization reaches outside overlays/ (a shared component, a base elsewhere).

    Any string in a kustomization file that names an existing path in the repository counts
    (`resources`, `components`, `patches[].path`, a generator's `key=file`…), followed through
    the kustomizations it reaches; that needs no list of kustomize's fields and can only err
    towards hashing a file too many.
    """
    root = config.root.resolve()
    found: set[Path] = set()
    seen: set[Path] = set()
    queue = [start.resolve()]
    while queue:
        directory = queue.pop()
        if directory in seen:
            continue
        seen.add(directory)
        files = [directory / name for name in _KUSTOMIZATIONS if (directory / name).is_file()]
        if not files:
            continue
        try:
            document = yamlfile.load(files[0], root=config.root).data
        except InputError:
            continue  # kustomize will say what is wrong with it
        for text in _strings(document):
            for token in re.split(r"[\s=]+", text):
                if not token or "://" in token:
                    continue
                target = (directory / token).resolve()
                # The repository root or an ancestor would be "everything": never a reference.
                if not target.is_relative_to(root) or directory.is_relative_to(target):
                    continue
                if target.is_file():
                    found.add(target)
                elif target.is_dir() and ".git" not in target.relative_to(root).parts:
                    found.update(p for p in target.rglob("*") if p.is_file())
                    queue.append(target)
    return {config.root / p.relative_to(root) for p in found}


def _kustomize_digest(
    config: Config, environment: Environment, directory: Path, file_digests: dict[Path, bytes]
) -> str:
    """A hash of a kustomization's inputs by repository-relative path; each file is read once
    per run however many environments share it (the base)."""
    parts = [_relative(config, directory).encode()]
    for path in _kustomize_inputs(config, environment):
        if path not in file_digests:
            file_digests[path] = hashlib.sha256(path.read_bytes()).digest()
        parts += [_relative(config, path).encode(), file_digests[path]]
    return cache.key_of(*parts)


def _input_hash(
    environment: Environment,
    releases: Sequence[charts.ResolvedRelease],
    jobs: Sequence[render.RenderJob],
    commands: Sequence[str],
    tool_versions: Mapping[str, str],
    helm: Tool | None,
    kustomize: Tool | None,
) -> str:
    """A hash of everything that can change an environment's directory on the rendered branch
    but its source commit: each render's cache key, plus what the metadata records."""
    header = {
        "environment": environment.name,
        "tools": dict(tool_versions),
        "commands": list(commands),
        "releases": [
            [r.release.name, r.release.namespace, r.chart_name, r.version, r.digest, r.repository]
            for r in releases
        ],
    }
    keys = [render.job_key(job, render.tool_for(job, helm, kustomize)) for job in jobs]
    body = cache.key_of(json.dumps(header, sort_keys=True).encode(), *(k.encode() for k in keys))
    return f"sha256:{body}"


def plan_environments(
    config: Config,
    environments: Sequence[Environment],
    *,
    tool_choice: ToolChoice = ToolChoice(),
    locked: bool = False,
) -> RunPlan:
    """Load, resolve and hash every environment asked for, and find the tools they need.
    Charts come from each environment's releases.lock; with `locked`, a stale lock is an error."""
    file_digests: dict[Path, bytes] = {}
    sources = charts.ChartSources(config)  # one per run: each repository index fetched once
    with charts.memoised():
        planned = [_jobs(config, env, file_digests, sources, locked) for env in environments]
    all_jobs = [job for p in planned for job in p.jobs]
    needs_helm = any(isinstance(job, render.HelmRender) for job in all_jobs)
    needs_kustomize = any(isinstance(job, render.KustomizeRender) for job in all_jobs)
    # Each probe runs the tool once (`helm version`, `kubectl version`): side by side, not in turn.
    with ThreadPoolExecutor(max_workers=2) as pool:
        helm_probe = pool.submit(tools.find_helm, tool_choice.helm) if needs_helm else None
        kustomize_probe = (
            pool.submit(tools.find_kustomize, tool_choice.kustomize) if needs_kustomize else None
        )
        helm = helm_probe.result() if helm_probe else None
        kustomize = kustomize_probe.result() if kustomize_probe else None
    plans = []
    for p in planned:
        tool_versions = {"toolkit": __version__}
        if helm is not None and any(isinstance(j, render.HelmRender) for j in p.jobs):
            tool_versions["helm"] = helm.version
        if kustomize is not None and any(isinstance(j, render.KustomizeRender) for j in p.jobs):
            tool_versions["kustomize"] = kustomize.version
        commands = _commands(config, p.releases, p.jobs, helm, kustomize)
        input_hash = _input_hash(
            p.spec.environment, p.releases, p.jobs, commands, tool_versions, helm, kustomize
        )
        plans.append(
            EnvironmentPlan(
                p.spec, p.releases, p.jobs, commands, tool_versions, input_hash, p.warnings
            )
        )
    return RunPlan(tuple(plans), helm, kustomize)


def default_cache(*, enabled: bool = True) -> RenderCache | None:
    """The render cache under toolkit's cache directory, or None when it is turned off."""
    return RenderCache(tools.cache_dir() / "renders") if enabled else None


def _tree(plan: EnvironmentPlan, outputs: Sequence[render.RenderOutput]) -> RenderedTree:
    """An environment's outputs as its file tree; each output is parsed once."""
    name = plan.name
    loaded = []
    # A CRD in one source decides the scope of its kind in every source of the environment.
    cluster_scoped: set[tuple[str, str]] = set()
    for output in outputs:
        where = f"environment {name}, {output.job.source}"
        documents = manifests.load_documents(output.text, where=where)
        cluster_scoped |= manifests.cluster_scoped_crds(documents)
        loaded.append((output, documents, where))
    resources = []
    for output, documents, where in loaded:
        resources += manifests.parse_documents(
            documents,
            source=output.job.source,
            namespace=output.job.namespace,
            cluster_scoped=cluster_scoped,
            where=where,
        )
    return manifests.layout(name, resources)


def render_plan(
    plan: RunPlan,
    *,
    parallel: int,
    cache: RenderCache | None = None,
    only: Collection[str] | None = None,
) -> list[EnvironmentRender]:
    """Render the planned environments (or `only` those named), all renders of the run in
    parallel (answered from `cache` where it holds them)."""
    wanted = [p for p in plan.environments if only is None or p.name in only]
    all_jobs = [job for p in wanted for job in p.jobs]
    outputs = render.render_all(
        all_jobs, helm=plan.helm, kustomize=plan.kustomize, parallel=parallel, cache=cache
    )
    by_env: dict[str, list[render.RenderOutput]] = defaultdict(list)
    for output in outputs:
        by_env[output.job.environment.name].append(output)
    results = []
    for p in wanted:
        env_outputs = by_env[p.name]
        results.append(
            EnvironmentRender(
                p.spec,
                p.releases,
                _tree(p, env_outputs),
                p.commands,
                p.tool_versions,
                p.input_hash,
                renders=len(env_outputs),
                cached=sum(1 for o in env_outputs if o.cached),
                warnings=p.warnings,
            )
        )
    return results


def render_environments(
    config: Config,
    environments: Sequence[Environment],
    *,
    tool_choice: ToolChoice = ToolChoice(),
    parallel: int,
    use_cache: bool = True,
    locked: bool = False,
) -> list[EnvironmentRender]:
    """Render every environment asked for, all renders of the run in parallel."""
    plan = plan_environments(config, environments, tool_choice=tool_choice, locked=locked)
    return render_plan(plan, parallel=parallel, cache=default_cache(enabled=use_cache))
