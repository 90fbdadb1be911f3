"""helm (through pyhelm3) and kustomize runs, all of a run's renders in parallel."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyhelm3

from toolkit import process
from toolkit.config import Environment, Release
from toolkit.errors import RenderError
from toolkit.tools import Tool


@dataclass(frozen=True)
class HelmRender:
    """`helm template` of one release in one environment."""

    environment: Environment
    release: Release
    chart: Path
    values: Mapping[str, Any]

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
    source = "kustomize"
    namespace = None

    def describe(self) -> str:
        name = self.environment.name
        return f"environment {name}, kustomization in overlays/{name}"


RenderJob = HelmRender | KustomizeRender


@dataclass(frozen=True)
class RenderOutput:
    """What one render printed."""

    job: RenderJob
    text: str


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
    if env.kube_version:
        args += ["--kube-version", env.kube_version]
    for api_version in env.api_versions:
        args += ["--api-versions", api_version]
    return args


def helm_values_input(job: HelmRender) -> bytes:
    """The merged values as helm reads them from stdin (JSON is YAML, and byte-stable)."""
    return json.dumps(job.values, sort_keys=True).encode()


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


async def _render_helm(job: HelmRender, helm: Tool) -> RenderOutput:
    command = pyhelm3.Command(executable=str(helm.path))
    try:
        stdout: bytes = await command.run(helm_template_args(job), helm_values_input(job))
    except pyhelm3.errors.Error as exc:
        stderr = exc.stderr.decode(errors="replace").strip()
        raise RenderError(f"{job.describe()}: helm template failed:\n{_indent(stderr)}") from exc
    return RenderOutput(job, stdout.decode())


async def _render_kustomize(job: KustomizeRender, kustomize: Tool) -> RenderOutput:
    try:
        output = await process.run_async((*kustomize.command, str(job.directory)))
    except process.ProcessError as exc:
        stderr = exc.output.stderr.decode(errors="replace").strip()
        raise RenderError(f"{job.describe()}: kustomize build failed:\n{_indent(stderr)}") from exc
    return RenderOutput(job, output.stdout.decode())


async def _render_all(
    jobs: Sequence[RenderJob], helm: Tool | None, kustomize: Tool | None, parallel: int
) -> list[RenderOutput]:
    limit = asyncio.Semaphore(max(1, parallel))

    async def one(job: RenderJob) -> RenderOutput:
        async with limit:
            if isinstance(job, HelmRender):
                assert helm is not None
                return await _render_helm(job, helm)
            assert kustomize is not None
            return await _render_kustomize(job, kustomize)

    results = await asyncio.gather(*(one(job) for job in jobs), return_exceptions=True)
    for result in results:  # the first failure in job order, so the message is deterministic
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if isinstance(r, RenderOutput)]


def render_all(
    jobs: Sequence[RenderJob], *, helm: Tool | None, kustomize: Tool | None, parallel: int
) -> list[RenderOutput]:
    """Run every render, at most `parallel` at once; raise the first failure in job order."""
    if not jobs:
        return []
    return asyncio.run(_render_all(jobs, helm, kustomize, parallel))
