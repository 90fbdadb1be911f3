"""The `toolkit` group: the global options, made into one Context (its RenderSettings and
Reporter) that every command receives."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import click

from toolkit import __version__
from toolkit.cli import outputs, sources
from toolkit.cli.edge import Context
from toolkit.infra.reporter import Reporter
from toolkit.render.settings import RenderSettings, ToolChoice


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="toolkit")
@click.option(
    "-C",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    help="Repository root (where toolkit.yaml is).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Parallel renders (default: CPU count).",
)
@click.option(
    "--locked", is_flag=True, help="A stale releases.lock is an error, not resolved in memory."
)
@click.option("-v", "--verbose", count=True, help="Say more.")
@click.option("-q", "--quiet", count=True, help="Say less.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Run every helm and kustomize render (bypass the render cache and incremental hydrate).",
)
@click.option("--helm", "helm_path", envvar=None, default=None, help="The helm binary to use.")
@click.option(
    "--kustomize", "kustomize_path", default=None, help="The kustomize (or kubectl) binary to use."
)
@click.pass_context
def main(
    ctx: click.Context,
    root: Path,
    jobs: int | None,
    locked: bool,
    verbose: int,
    quiet: int,
    debug: bool,
    helm_path: str | None,
    kustomize_path: str | None,
    no_cache: bool,
) -> None:
    """Render, hydrate, promote and diff a GitOps config repository."""
    reporter = Reporter(functools.partial(click.echo, err=True), verbose - quiet)
    settings = RenderSettings(
        tools=ToolChoice(helm_path, kustomize_path),
        jobs=jobs or os.cpu_count() or 1,
        locked=locked,
        use_cache=not no_cache,
        reporter=reporter,
    )
    ctx.obj = Context(root=root.resolve(), settings=settings)


for command in (*outputs.COMMANDS, *sources.COMMANDS):
    main.add_command(command)
