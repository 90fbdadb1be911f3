"""Render a planned run: every render of the run in parallel, each environment laid out as its
file tree as soon as its last render is done."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from toolkit.config.project import Config, Environment
from toolkit.infra import kubeyaml, paths
from toolkit.infra.errors import ToolkitError
from toolkit.manifests import layout, model
from toolkit.manifests.layout import RenderedTree
from toolkit.manifests.scopes import GroupKind
from toolkit.render import runs
from toolkit.render.cache import RenderCache
from toolkit.render.jobs import EnvironmentPlan, RunPlan
from toolkit.render.pipeline import plan_environments
from toolkit.render.progress import UNWATCHED, Watcher
from toolkit.render.settings import RenderSettings

if TYPE_CHECKING:
    from toolkit.charts import chartsource
    from toolkit.config.releases import EnvironmentSpec


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
    watcher: Watcher = UNWATCHED,
) -> list[EnvironmentRender]:
    """Render the planned environments (or `only` those named), all renders of the run in
    parallel (answered from `cache` where it holds them). The first failure is raised; with
    `failed` (--keep-going), it is told of each environment that fails to render or to lay
    out, with the first error of that environment, and the others are returned.
    `on_environment` hears of each environment as soon as its last render is done: its name,
    how many renders it took and how many of them the cache answered. `watcher` (a
    terminal's live display) hears of each render as it is done.

    Each environment's outputs are parsed and laid out on a worker thread as soon as its last
    render is done, while the others' renders go on, rather than all of them at the end.
    """
    wanted = [p for p in plan.environments if only is None or p.name in only]
    by_name = {p.name: p for p in wanted}
    all_jobs = [job for p in wanted for job in p.jobs]
    position = {id(job): index for index, job in enumerate(all_jobs)}
    by_env: dict[str, list[runs.RenderOutput]] = defaultdict(list)
    trees: dict[str, Future[RenderedTree]] = {}
    counts: dict[str, tuple[int, int]] = {}  # per environment laid out: (renders, cached)
    seen: model.ReadCache = {}  # a document read in one environment is not read again
    with ThreadPoolExecutor(max_workers=1) as worker:

        def done(output: runs.RenderOutput) -> None:
            env = output.job.environment.name
            outputs = by_env[env]
            outputs.append(output)
            watcher.advanced(env)
            if len(outputs) == len(by_name[env].jobs):
                outputs.sort(key=lambda o: position[id(o.job)])  # in job order, as planned
                trees[env] = worker.submit(_tree, by_name[env], by_env.pop(env), seen)
                # The outputs are the worker's alone now: once laid out, they are let go.
                counts[env] = (len(outputs), sum(1 for o in outputs if o.cached))
                if on_environment is not None:
                    on_environment(env, *counts[env])

        failures: dict[str, ToolkitError] = {}

        def broke(job: runs.RenderJob, error: ToolkitError) -> None:
            failures.setdefault(job.environment.name, error)
            watcher.failed(job.environment.name)

        watcher.planned({p.name: len(p.jobs) for p in wanted})
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
        finally:
            watcher.stopped()
        results = []
        for p in wanted:
            error = failures.get(p.name)
            if error is None:
                try:
                    # Not submitted: an environment with nothing to render.
                    tree = trees[p.name].result() if p.name in trees else _tree(p, [], seen)
                except ToolkitError as exc:
                    if failed is None:
                        raise
                    error = exc
            if error is not None and failed is not None:
                failed(p.name, error)
                continue
            renders, cached = counts.get(p.name, (0, 0))
            results.append(
                EnvironmentRender(
                    p.spec,
                    p.releases,
                    tree,
                    p.commands,
                    p.tool_versions,
                    p.input_hash,
                    renders=renders,
                    cached=cached,
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
    return render_plan(
        plan, parallel=settings.jobs, cache=default_cache(settings), watcher=settings.watcher
    )
