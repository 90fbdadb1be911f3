"""helm and kustomize runs, all of a run's renders in parallel."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.config.project import Environment
from toolkit.config.releases import Release
from toolkit.infra import process
from toolkit.infra.errors import RenderError, ToolkitError
from toolkit.render import failure, helmcharts, postrender
from toolkit.render.cache import RenderCache, key_of
from toolkit.render.helmcharts import InflatedChart
from toolkit.render.tools import Tool


@dataclass(frozen=True)
class HelmRender:
    """`helm template` of one release in one environment."""

    environment: Environment
    release: Release
    chart: Path
    values: Mapping[str, Any]
    chart_digest: str  # the chart's content digest: the render cache keys on it, not the path
    # The kustomization applying the release's `patches:` to helm's output (postrender.py).
    post_render: str | None = None

    @property
    def source(self) -> str:
        return self.release.name

    @property
    def namespace(self) -> str | None:
        return self.release.namespace

    def describe(self) -> str:
        release = self.release
        return f"environment {self.environment.name}, release {release.name} ({release.location})"


@dataclass(frozen=True)
class KustomizeRender:
    """`kustomize build` of one environment's overlay."""

    environment: Environment
    directory: Path
    # A hash of every file the build can read, by repository-relative path (pipeline computes it).
    inputs_digest: str
    # `helmCharts:` charts toolkit fetched, and what the build reads (copied with them).
    helm_charts: tuple[InflatedChart, ...] = ()
    inputs: tuple[Path, ...] = field(default=(), repr=False)
    root: Path | None = None
    source = "kustomize"
    namespace = None

    def describe(self) -> str:
        return f"environment {self.environment.name}, kustomization in {self.environment.path}"


RenderJob = HelmRender | KustomizeRender


@dataclass(frozen=True)
class RenderOutput:
    """What one render printed."""

    job: RenderJob
    text: str = field(repr=False)  # megabytes: a repr in an error would print them whole
    cached: bool = False


def helm_template_args(job: HelmRender, chart: str | Path | None = None) -> list[str]:
    """The `helm template` arguments for a release; values come on stdin as JSON."""
    env = job.environment
    args = [
        "template",
        job.release.name,
        str(chart if chart is not None else job.chart),
        "--namespace",
        job.release.namespace,
        "--include-crds",
        "--values",
        "-",
    ]
    if not job.release.include_tests:
        args.append("--skip-tests")  # test hooks are for `helm test`, not for the cluster
    if env.kube_version:
        args += ["--kube-version", env.kube_version]
    for api_version in env.api_versions:
        args += ["--api-versions", api_version]
    return args


def helm_values_input(job: HelmRender) -> bytes:
    """The merged values as helm reads them from stdin (JSON is YAML, and byte-stable)."""
    return json.dumps(job.values, sort_keys=True).encode()


def job_inputs(job: RenderJob) -> tuple[bytes, ...]:
    """Everything but the tool that can change what a job prints.

    Machine paths are left out (the chart by its content digest, the kustomization by its
    inputs' digest), so a render in another clone or a temporary worktree has the same inputs.
    """
    if isinstance(job, HelmRender):
        args = helm_template_args(job, "<chart>")
        return (
            b"helm",
            "\0".join(args).encode(),
            job.chart_digest.encode(),
            helm_values_input(job),
            *(() if job.post_render is None else (b"patches", job.post_render.encode())),
        )
    charts = (b"helmCharts", helmcharts.digest(job.helm_charts).encode()) if job.helm_charts else ()
    return (b"kustomize", job.inputs_digest.encode(), *charts)


def extra_tools(job: RenderJob, helm: Tool | None, kustomize: Tool | None) -> list[Tool]:
    """The tools a job runs besides its own: kustomize for a release's patches, helm for a
    kustomization's helmCharts."""
    if isinstance(job, HelmRender):
        return [kustomize] if job.post_render is not None and kustomize is not None else []
    return [helm] if job.helm_charts and helm is not None else []


def job_key(
    job: RenderJob, tool: Tool, kustomize: Tool | None = None, helm: Tool | None = None
) -> str:
    """The render cache key of a job: its inputs and the tools that render them."""
    used = [tool, *extra_tools(job, helm, kustomize)]
    identity = "\0".join(f"{t.name}\0{t.version}\0{' '.join(t.command[1:])}" for t in used)
    return key_of(identity.encode(), *job_inputs(job))


def _render_helm(job: HelmRender, helm: Tool, kustomize: Tool | None) -> RenderOutput:
    args = (str(helm.path), *helm_template_args(job))
    values = helm_values_input(job)
    try:
        output = process.run(args, input=values, spool_stdout=True)
    except process.ProcessError as exc:
        stderr = exc.output.stderr.decode(errors="replace")
        raise failure.helm_failure(job, args, values, stderr) from exc
    text = output.stdout.decode()
    if job.post_render is not None:
        assert kustomize is not None, "the pipeline finds kustomize for a release with patches"
        text = postrender.apply(text, job.post_render, kustomize, what=job.describe())
    return RenderOutput(job, text)


def _render_kustomize(job: KustomizeRender, kustomize: Tool, helm: Tool | None) -> RenderOutput:
    if not job.helm_charts:
        return _kustomize_build(job, kustomize, (), job.directory, None)
    assert helm is not None and job.root is not None, "the pipeline finds helm for helmCharts"
    env = job.environment
    flags = ["--enable-helm", "--helm-command", str(helmcharts.helm_shim(helm))]
    if env.kube_version:
        flags += ["--helm-kube-version", env.kube_version]
    flags += [f"--helm-api-versions={version}" for version in env.api_versions]
    with helmcharts.build_tree(job.root, job.inputs, job.helm_charts) as top:
        directory = top / job.directory.relative_to(job.root)
        return _kustomize_build(job, kustomize, flags, directory, top)


def _kustomize_build(
    job: KustomizeRender,
    kustomize: Tool,
    flags: Sequence[str],
    directory: Path,
    copy: Path | None,
) -> RenderOutput:
    try:
        output = process.run((*kustomize.command, *flags, str(directory)), spool_stdout=True)
    except process.ProcessError as exc:
        stderr = exc.output.stderr.decode(errors="replace").strip()
        if copy is not None:  # the copy's path is this machine's
            stderr = stderr.replace(str(copy), ".")
        raise RenderError(
            f"{job.describe()}: kustomize build failed:\n{process.indent(stderr)}",
            environment=job.environment.name,
        ) from exc
    return RenderOutput(job, output.stdout.decode())


def _render(job: RenderJob, helm: Tool | None, kustomize: Tool | None) -> RenderOutput:
    tool = tool_for(job, helm, kustomize)
    if isinstance(job, HelmRender):
        return _render_helm(job, tool, kustomize)
    return _render_kustomize(job, tool, helm)


def tool_for(job: RenderJob, helm: Tool | None, kustomize: Tool | None) -> Tool:
    """The tool that runs `job`."""
    tool = helm if isinstance(job, HelmRender) else kustomize
    assert tool is not None, "the pipeline finds the tools its jobs need"
    return tool


def _render_all(
    jobs: Sequence[RenderJob],
    helm: Tool | None,
    kustomize: Tool | None,
    parallel: int,
    cache: RenderCache | None,
    on_output: Callable[[RenderOutput], None],
    on_failure: Callable[[RenderJob, ToolkitError], None] | None,
) -> list[RenderOutput]:
    """The renders on `parallel` worker threads, each waiting on its process; the cache and
    `on_output` are used from this thread alone. An interruption (or any other exception while
    waiting) ends every running process, and no worker starts another."""
    results: dict[int, RenderOutput | ToolkitError] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="render")
    try:
        running: dict[Future[RenderOutput], tuple[int, str | None]] = {}
        for index, job in enumerate(jobs):
            tool = tool_for(job, helm, kustomize)
            key = job_key(job, tool, kustomize, helm) if cache is not None else None
            hit = cache.get(key) if cache is not None and key is not None else None
            if hit is not None:
                cached = RenderOutput(job, hit, cached=True)
                results[index] = cached
                on_output(cached)
            else:
                running[pool.submit(_render, job, helm, kustomize)] = (index, key)
        for future in as_completed(running):
            index, key = running[future]
            try:
                output = future.result()
            except ToolkitError as exc:  # kept: the first failure in job order is raised
                results[index] = exc
                if on_failure is not None:
                    on_failure(jobs[index], exc)
                continue
            if cache is not None and key is not None:
                cache.put(key, output.text)
            results[index] = output
            on_output(output)
    except BaseException:
        process.stop_children()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        process.resume_children()
    ordered = [results[index] for index in range(len(jobs))]
    for result in ordered:  # the first failure in job order, so the message is deterministic
        if isinstance(result, ToolkitError) and on_failure is None:
            raise result
    return [r for r in ordered if isinstance(r, RenderOutput)]


# helm and kustomize are Go programs that live a fraction of a second: their garbage collector
# is mostly overhead (a fifth of their CPU time on small charts). It is turned off, with a soft
# memory limit that brings it back for a chart that needs much memory: at 64 MiB a render of a
# kube-prometheus-stack-sized chart peaks near 96 MB for the CPU it takes at 256 MiB (147 MB),
# and two run side by side. Where the user set either, both are left as they are (the collector
# off without the limit would never run).
GO_RUNTIME = {"GOGC": "off", "GOMEMLIMIT": "64MiB"}


@contextmanager
def go_runtime_defaults() -> Iterator[None]:
    """GO_RUNTIME in the environment the renders inherit, for the duration of the block."""
    added = {} if any(name in os.environ for name in GO_RUNTIME) else dict(GO_RUNTIME)
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def render_all(
    jobs: Sequence[RenderJob],
    *,
    helm: Tool | None,
    kustomize: Tool | None,
    parallel: int,
    cache: RenderCache | None = None,
    on_output: Callable[[RenderOutput], None] = lambda output: None,
    on_failure: Callable[[RenderJob, ToolkitError], None] | None = None,
) -> list[RenderOutput]:
    """Run every render, at most `parallel` at once; raise the first failure in job order, or
    with `on_failure`, tell it of each failure as it comes and return what rendered.

    With a cache, a job whose key is stored is answered from it without starting a process,
    and every successful render is stored. `on_output` hears of each output as it arrives.
    """
    if not jobs:
        return []
    with go_runtime_defaults():
        return _render_all(jobs, helm, kustomize, parallel, cache, on_output, on_failure)
