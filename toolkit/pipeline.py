"""config -> resolve -> render -> manifests: the one way every command renders environments."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from toolkit import __version__, charts, lock, manifests, render, tools, values
from toolkit.config import (
    Config,
    Environment,
    EnvironmentSpec,
    OciChart,
    RepoChart,
    load_environment,
)
from toolkit.manifests import RenderedTree


@dataclass(frozen=True)
class ToolChoice:
    """Which helm and kustomize to use: explicit paths, or discovery."""

    helm: str | None = None
    kustomize: str | None = None


@dataclass(frozen=True)
class EnvironmentRender:
    """One environment rendered: what it asked for, what it resolved to, and its files."""

    spec: EnvironmentSpec
    releases: tuple[charts.ResolvedRelease, ...]
    tree: RenderedTree
    commands: tuple[str, ...]
    tool_versions: dict[str, str]
    input_hash: str
    warnings: tuple[str, ...] = ()  # e.g. a stale releases.lock resolved in memory

    @property
    def name(self) -> str:
        return self.spec.environment.name


@dataclass(frozen=True)
class _Plan:
    spec: EnvironmentSpec
    releases: tuple[charts.ResolvedRelease, ...]
    jobs: tuple[render.RenderJob, ...]
    warnings: tuple[str, ...]


def _plan(
    config: Config, environment: Environment, sources: charts.ChartSources, locked: bool
) -> _Plan:
    spec = load_environment(config, environment)
    resolution = lock.resolve_environment(sources, spec, locked=locked)
    resolved = resolution.releases
    jobs: list[render.RenderJob] = [
        render.HelmRender(
            environment,
            r.release,
            r.path,
            values.merged_values(r.release, environment, root=config.root),
        )
        for r in resolved
    ]
    if spec.kustomization is not None:
        jobs.append(render.KustomizeRender(environment, spec.kustomization))
    return _Plan(spec, resolved, tuple(jobs), resolution.warnings)


def _relative(config: Config, path: Path) -> str:
    return path.relative_to(config.root).as_posix()


def _commands(
    config: Config, plan: _Plan, helm: tools.Tool | None, kustomize: tools.Tool | None
) -> tuple[str, ...]:
    """The equivalent command lines, with repository-relative paths (no machine paths)."""
    lines = []
    for job in plan.jobs:
        if isinstance(job, render.HelmRender) and helm is not None:
            resolved = next(r for r in plan.releases if r.release is job.release)
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


def _chart_argument(config: Config, resolved: charts.ResolvedRelease) -> str:
    """The chart as a user would pass it to helm: a local path, or the remote chart and its
    locked version (never the cache path, which is this machine's)."""
    chart = resolved.release.chart
    if isinstance(chart, RepoChart):
        return f"{chart.name} --repo {chart.url} --version {resolved.version}"
    if isinstance(chart, OciChart):
        return f"{chart.url} --version {resolved.version}"
    return _relative(config, resolved.path)


def _kustomize_inputs(config: Config, environment: Environment) -> list[Path]:
    """Files a kustomize build of `environment` can read: everything under overlays/ but the
    other environments' directories (unless this overlay names one of them)."""
    overlays = config.root / "overlays"
    own = environment.directory
    texts = " ".join(p.read_text(errors="replace") for p in own.glob("*.y*ml") if p.is_file())
    skipped = [
        other.directory
        for other in config.environments
        if other.name != environment.name and f"../{other.name}" not in texts
    ]
    return sorted(
        path
        for path in overlays.rglob("*")
        if path.is_file() and not any(path.is_relative_to(d) for d in skipped)
    )


def _input_hash(config: Config, plan: _Plan, tool_versions: dict[str, str]) -> str:
    """A hash of everything that can change an environment's render."""
    digest = hashlib.sha256()
    env = plan.spec.environment
    header = {
        "tools": tool_versions,
        "kubeVersion": env.kube_version,
        "apiVersions": list(env.api_versions),
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    for job in plan.jobs:
        if isinstance(job, render.HelmRender):
            resolved = next(r for r in plan.releases if r.release is job.release)
            digest.update(
                f"helm\0{job.release.name}\0{job.release.namespace}\0{resolved.digest}\0".encode()
            )
            digest.update(render.helm_values_input(job))
        else:
            digest.update(f"kustomize\0{_relative(config, job.directory)}\0".encode())
            for path in _kustomize_inputs(config, env):
                digest.update(_relative(config, path).encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return f"sha256:{digest.hexdigest()}"


def render_environments(
    config: Config,
    environments: Sequence[Environment],
    *,
    tool_choice: ToolChoice = ToolChoice(),
    parallel: int,
    locked: bool = False,
) -> list[EnvironmentRender]:
    """Render every environment asked for, all renders of the run in parallel. Charts come
    from each environment's releases.lock; with `locked`, a stale lock is an error."""
    sources = charts.ChartSources(config)  # one per run: each repository index fetched once
    plans = [_plan(config, env, sources, locked) for env in environments]
    all_jobs = [job for plan in plans for job in plan.jobs]
    needs_helm = any(isinstance(job, render.HelmRender) for job in all_jobs)
    needs_kustomize = any(isinstance(job, render.KustomizeRender) for job in all_jobs)
    helm = tools.find_helm(tool_choice.helm) if needs_helm else None
    kustomize = tools.find_kustomize(tool_choice.kustomize) if needs_kustomize else None
    tool_versions = {"toolkit": __version__}
    if helm is not None:
        tool_versions["helm"] = helm.version
    if kustomize is not None:
        tool_versions["kustomize"] = kustomize.version

    outputs = render.render_all(all_jobs, helm=helm, kustomize=kustomize, parallel=parallel)
    by_env: dict[str, list[render.RenderOutput]] = defaultdict(list)
    for output in outputs:
        by_env[output.job.environment.name].append(output)

    results = []
    for plan in plans:
        name = plan.spec.environment.name
        env_outputs = by_env[name]
        # A CRD in one source decides the scope of its kind in every source of the environment.
        cluster_scoped: set[tuple[str, str]] = set()
        for output in env_outputs:
            where = f"environment {name}, {output.job.source}"
            cluster_scoped |= manifests.cluster_scoped_crds(
                manifests.load_documents(output.text, where=where)
            )
        resources = []
        for output in env_outputs:
            resources += manifests.parse(
                output.text,
                source=output.job.source,
                namespace=output.job.namespace,
                cluster_scoped=cluster_scoped,
                where=f"environment {name}, {output.job.source}",
            )
        tree = manifests.layout(name, resources)
        results.append(
            EnvironmentRender(
                plan.spec,
                plan.releases,
                tree,
                _commands(config, plan, helm, kustomize),
                tool_versions,
                _input_hash(config, plan, tool_versions),
                plan.warnings,
            )
        )
    return results
