"""The commands whose product is rendered output: render, hydrate, validate, diff, status."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from toolkit.cli.completion import complete_refs, environments_argument
from toolkit.cli.edge import Context, json_option, print_json, report_failure, show
from toolkit.cli.options import command_body


@click.command("render")
@environments_argument
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write `<DIR>/<env>/…` instead of printing to stdout.",
)
@json_option
@command_body
def render_command(
    obj: Context, environments: tuple[str, ...], output: Path | None, as_json: bool
) -> int:
    """Render environments to a directory or stdout; touches nothing else.

    \b
    Examples:
      toolkit render dev
      toolkit render -o ../render-check
      toolkit render production --json
    """
    from toolkit.commands import render

    options = render.RenderOptions(environments, output)
    result = render.render(obj.load(), options, obj.settings)
    if as_json:
        show(result, as_json)
        return 0
    if output is None:
        click.echo(result.stream, nl=False)
    for line in result.lines():
        obj.reporter.line(line)
    return 0


@click.command("hydrate")
@environments_argument
@click.option("--allow-dirty", is_flag=True, help="Hydrate even with uncommitted changes.")
@click.option("--push", is_flag=True, help="Push the rendered branch (retrying on a lost race).")
@click.option(
    "--remote",
    default=None,
    help="The remote to push to (default: origin); with --check, compare with its branch.",
)
@click.option("--check", is_flag=True, help="Exit 1 and list stale environments; write nothing.")
@click.option("--shard", default=None, metavar="K/N", help="Only the K-th of N shares of ENVs.")
@click.option("--author", default=None, metavar="'NAME <EMAIL>'", help="The commit's author.")
@click.option("--committer", default=None, metavar="'NAME <EMAIL>'", help="The commit's committer.")
@click.option("--tag", is_flag=True, help="Tag the source commit <env>/<n> per hydrated env.")
@click.option(
    "--allow-prune",
    is_flag=True,
    help="Write an environment even where every file of it, of a release or of its Kustomize "
    "output goes.",
)
@click.option(
    "--validate",
    "validate_output",
    is_flag=True,
    help="Validate what renders first; commit nothing when it has errors.",
)
@click.option(
    "--keep-going",
    is_flag=True,
    help="Commit the environments that render, then report those that failed (exit 3).",
)
@json_option
@command_body
def hydrate_command(
    obj: Context,
    environments: tuple[str, ...],
    allow_dirty: bool,
    push: bool,
    remote: str | None,
    check: bool,
    shard: str | None,
    author: str | None,
    committer: str | None,
    tag: bool,
    allow_prune: bool,
    validate_output: bool,
    keep_going: bool,
    as_json: bool,
) -> int:
    """Render and commit to the rendered branch (and push it with --push).

    \b
    Examples:
      toolkit hydrate
      toolkit hydrate --push --validate      # in CI, on main
      toolkit hydrate --check               # exit 1 when the branch is stale
      toolkit hydrate --shard 1/3 --push
    """
    from toolkit.commands import hydrate
    from toolkit.config import identity

    if check and (push or tag):
        raise click.UsageError("--check writes nothing: it cannot be combined with --push or --tag")
    options = hydrate.HydrateCommandOptions(
        environments,
        author=identity.parse_identity(author, what="--author") if author else None,
        committer=identity.parse_identity(committer, what="--committer") if committer else None,
        push=push,
        remote=remote,
        tag=tag,
        allow_prune=allow_prune,
        allow_dirty=allow_dirty,
        check=check,
        shard=shard,
        validate=validate_output,
        keep_going=keep_going,
    )
    result = hydrate.hydrate(obj.load(), options, obj.settings)
    # The environments that did not change are listed with -v only.
    lines = result.lines(unchanged=obj.reporter.verbosity >= 1)
    if as_json:
        print_json(result.as_dict())
    if not as_json or check:  # --check: the listing on stderr as well as in the JSON
        for line in lines:
            obj.reporter.line(line)
    if result.error is not None:  # --keep-going: the failures after what was done (exit 3)
        return report_failure(result.error, debug=obj.debug)
    return result.exit_code


@click.command("validate")
@environments_argument
@click.option(
    "--ref",
    default=None,
    metavar="REF",
    shell_complete=complete_refs,
    help="Validate this revision, not the work tree.",
)
@click.option("--strict", is_flag=True, help="A custom kind without a schema is an error.")
@click.option(
    "--determinism",
    is_flag=True,
    help="Render twice without the cache and report every resource that differs.",
)
@json_option
@command_body
def validate_command(
    obj: Context,
    environments: tuple[str, ...],
    ref: str | None,
    strict: bool,
    determinism: bool,
    as_json: bool,
) -> int:
    """Check rendered environments: schemas, custom kinds, retired APIs and policies (exit 1 on
    an error).

    \b
    Examples:
      toolkit validate
      toolkit validate production --strict --json
      toolkit validate --determinism
    """
    from toolkit.commands import validate  # the schemas load only for this command

    options = validate.ValidateOptions(environments, ref, strict, determinism)
    result = validate.validate(obj.load(), options, obj.settings)
    show(result, as_json)
    return 1 if result.failed else 0


@click.command("status")
@environments_argument
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    help="A listing for a terminal, a markdown table (PR, wiki), or JSON.",
)
@json_option
@click.option(
    "--remote", default="origin", help="Read its rendered branch when there is no local one."
)
@command_body
def status_command(
    obj: Context, environments: tuple[str, ...], fmt: str, as_json: bool, remote: str
) -> int:
    """What runs where: per environment, the source commit, tag, releases and images on the
    rendered branch, whether the work tree has moved on, and what the next promotion moves.

    \b
    Examples:
      toolkit status
      toolkit status production --json
      toolkit status --format markdown >> "$GITHUB_STEP_SUMMARY"
    """
    from toolkit.commands import status  # only this command reads every manifest on the branch

    report = status.status(obj.load(), status.StatusOptions(environments, remote), obj.settings)
    if as_json or fmt == "json":
        print_json(report.as_dict())
    else:
        text = report.as_markdown if fmt == "markdown" else report.as_text
        click.echo(text(), nl=False)
    return 0


class _LateOptions(click.Command):
    """A command some of whose options are made when first needed (its run, its help, a
    completion), placed before the parameter named `before`: their choices and defaults come
    from a package that defining them up front would import for every command."""

    def __init__(
        self, *args: Any, late: Callable[[], list[click.Parameter]], before: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._late: Callable[[], list[click.Parameter]] | None = late
        self._before = before

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        if self._late is not None:
            at = [param.name for param in self.params].index(self._before)
            self.params[at:at] = self._late()
            self._late = None
        return super().get_params(ctx)


def _diff_folding_options() -> list[click.Parameter]:
    """diff's noise folding and comment budget, from the diff package."""
    from toolkit.diff import comment, noise

    return [
        click.Option(
            ["--no-fold", "unfolded"],
            multiple=True,
            type=click.Choice(list(noise.RULES)),
            help="List the changes this noise rule folds (repeatable; bookkeeping: chart labels).",
        ),
        click.Option(["--strict"], is_flag=True, help="Folded noise counts for --exit-code too."),
        click.Option(
            ["--max-bytes"],
            metavar="N",
            type=click.IntRange(min=comment.MIN_MAX_BYTES),
            default=comment.DEFAULT_MAX_BYTES,
            show_default=True,
            help="Byte budget of the markdown comment.",
        ),
    ]


@click.command("diff", cls=_LateOptions, late=_diff_folding_options, before="output_full")
@environments_argument
@click.option(
    "--base",
    metavar="REF",
    default=None,
    shell_complete=complete_refs,
    help="Base revision (default: merge-base with main).",
)
@click.option(
    "--head",
    metavar="REF",
    default=None,
    shell_complete=complete_refs,
    help="Head revision (default: work tree).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json", "html"]),
    default="text",
    help="text (a terminal), markdown (a PR comment), json (a CI gate) or html (one page).",
)
@json_option
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything differs.")
@click.option(
    "--output-full",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the uncut diff to FILE.",
)
@click.option(
    "--split",
    "split_into",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Write the markdown as numbered comments DIR/comment-NNN.md, each within --max-bytes.",
)
@click.option("--show-secrets", is_flag=True, help="Print Secret values (local use only).")
@command_body
def diff_command(
    obj: Context,
    environments: tuple[str, ...],
    base: str | None,
    head: str | None,
    fmt: str,
    as_json: bool,
    exit_code: bool,
    unfolded: tuple[str, ...],
    strict: bool,
    max_bytes: int,
    output_full: Path | None,
    split_into: Path | None,
    show_secrets: bool,
) -> int:
    """Rendered diff between two revisions, resource by resource.

    \b
    Examples:
      toolkit diff
      toolkit diff staging --base main~1 --head HEAD
      toolkit diff --format markdown > comment.md
      toolkit diff --json --exit-code        # a CI gate
    """
    from toolkit.commands import diff

    fmt = "json" if as_json else fmt
    if split_into is not None and fmt != "markdown":
        raise click.UsageError("--split writes markdown comments: add --format markdown")
    options = diff.DiffOptions(
        environments,
        base=base,
        head=head,
        format=fmt,
        color=fmt == "text" and obj.colored(sys.stdout),
        exit_code=exit_code,
        strict=strict,
        unfolded=unfolded,
        max_bytes=max_bytes,
        output_full=output_full,
        split_into=split_into,
        show_secrets=show_secrets,
    )
    result = diff.diff(obj.root, options, obj.settings)
    for path in result.comments:
        click.echo(path)
    if split_into is None:  # click drops colour off a terminal unless told
        click.echo(result.text, nl=False, color=options.color)
    return result.exit_code


COMMANDS = (render_command, hydrate_command, validate_command, status_command, diff_command)
