"""The commands that write the repository's sources or the tool cache: init, lock, promote,
rollback, tools."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from toolkit.cli.completion import (
    complete_environments,
    complete_lock_words,
    complete_refs,
    complete_releases,
)
from toolkit.cli.edge import Context, json_option, print_json, show
from toolkit.cli.options import command_body

if TYPE_CHECKING:
    from toolkit.infra import git


@click.command("init")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--argocd",
    "operator",
    flag_value="argocd",
    default=True,
    help="An Argo CD Application per environment (the default).",
)
@click.option("--flux", "operator", flag_value="flux", help="A Flux Kustomization per environment.")
@click.option("--chart", metavar="NAME", default=None, help="Add a chart made by `helm create`.")
@click.option(
    "--from",
    "adopt",
    is_flag=True,
    help="Adopt the layout DIR has: its kustomization directories become environments.",
)
@json_option
@command_body
def init_command(
    obj: Context,
    directory: Path | None,
    operator: str,
    chart: str | None,
    adopt: bool,
    as_json: bool,
) -> int:
    """Scaffold a config repository in DIR (default: -C), or adopt the one there (--from).

    \b
    Examples:
      toolkit init my-config --chart web
      toolkit init --flux
      toolkit init --from
    """
    from toolkit.commands import init  # the templates load only for init
    from toolkit.config import project

    if chart is not None and not project.DNS_LABEL.pattern.fullmatch(chart):
        raise click.BadParameter(project.DNS_LABEL.description, param_hint="--chart")
    options = init.InitOptions((directory or obj.start).absolute(), operator, chart, adopt)
    result = init.init(options, obj.settings)
    if as_json:
        print_json(result.as_dict())
        return 0
    for line in result.lines(Path.cwd()):
        obj.reporter.line(line)
    return 0


@click.group("tools")
def tools_group() -> None:
    """Provision or show helm and kustomize.

    \b
    Examples:
      toolkit tools install
      toolkit tools status
    """


@tools_group.command("install")
@click.option(
    "--helm-major",
    type=click.Choice(["3", "4"]),
    default=None,
    help="Which helm major (default: what toolkit.yaml's tools: pins, else 3).",
)
@json_option
@command_body
def tools_install_command(obj: Context, helm_major: str | None, as_json: bool) -> int:
    """Download the pinned helm and kubectl (kustomize) into toolkit's cache.

    \b
    Examples:
      toolkit tools install
      toolkit tools install --helm-major 4 --json
    """
    from toolkit.commands import tools

    major = int(helm_major) if helm_major else None
    result = tools.install(major, obj.tool_pins() if major is None else {})
    show(result, as_json)
    return 0


@tools_group.command("status")
@json_option
@command_body
def tools_status_command(obj: Context, as_json: bool) -> int:
    """Show which helm and kustomize toolkit would use, and why.

    \b
    Examples:
      toolkit tools status
      toolkit tools status --helm ./bin/helm
    """
    from toolkit.commands import tools

    result = tools.status(obj.tool_pins(), obj.settings.tools)
    show(result, as_json)
    return result.exit_code


def _split_upgrade(words: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """`[ENV...] [--upgrade [RELEASE...]]` as (environments, releases to upgrade or None)."""
    if "--upgrade" not in words:
        environments, upgrade = words, None
    else:
        at = words.index("--upgrade")
        environments, upgrade = words[:at], words[at + 1 :]
    for word in (*environments, *(upgrade or ())):
        if word.startswith("-"):
            raise click.UsageError(f"no such option: {word}")
    return environments, upgrade


@click.command(
    "lock",
    context_settings={"ignore_unknown_options": True},
    short_help="Resolve chart constraints and write releases.lock.",
)
@click.argument(
    "words",
    metavar="[ENV]... [--upgrade [RELEASE]...]",
    nargs=-1,
    type=click.UNPROCESSED,
    shell_complete=complete_lock_words,
)
@json_option
@command_body
def lock_command(obj: Context, words: tuple[str, ...], as_json: bool) -> int:
    """Resolve chart constraints and write each environment's releases.lock.

    Entries that still satisfy their release are kept; `--upgrade` re-resolves every
    release, `--upgrade RELEASE...` only the named ones.

    \b
    Examples:
      toolkit lock
      toolkit lock staging --upgrade api
      toolkit --locked lock --json           # CI: exit 2 when a lock is stale
    """
    from toolkit.commands import lock

    environments, upgrade = _split_upgrade(words)
    result = lock.lock(obj.load(), lock.LockOptions(environments, upgrade), obj.settings)
    show(result, as_json, obj.reporter.line)
    return 0


author_option = click.option(
    "--author", default=None, metavar="'NAME <EMAIL>'", help="The commit's author."
)
push_option = click.option(
    "--push", is_flag=True, help="Push the commit (retrying on a lost race)."
)
remote_option = click.option(
    "--remote", default="origin", show_default=True, help="The remote --push pushes to."
)


def _identity(author: str | None) -> git.Identity | None:
    from toolkit.config import identity

    return identity.parse_identity(author, what="--author") if author else None


@click.command("promote")
@click.argument("source", metavar="SRC", shell_complete=complete_environments)
@click.argument("target", metavar="DST", shell_complete=complete_environments)
@click.option(
    "--ref",
    default=None,
    shell_complete=complete_refs,
    help="Read SRC as it was at this tag or commit.",
)
@click.option(
    "--only",
    multiple=True,
    metavar="NAME",
    shell_complete=complete_releases,
    help="Promote only this release or image (repeatable, or comma-separated).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing (exit 1 if any).")
@click.option("--commit", "make_commit", is_flag=True, help="Commit the promoted files.")
@click.option("--branch", default=None, help="With --commit: commit on this new branch.")
@click.option("--tag", is_flag=True, help="With --commit: tag the commit promote/<DST>/<n>.")
@author_option
@push_option
@remote_option
@click.option("--force", is_flag=True, help="Allow skipping a stage or promoting backwards.")
@click.option("--allow-dirty", is_flag=True, help="Promote over uncommitted edits in DST.")
@json_option
@command_body
def promote_command(
    obj: Context,
    source: str,
    target: str,
    ref: str | None,
    only: tuple[str, ...],
    dry_run: bool,
    make_commit: bool,
    branch: str | None,
    tag: bool,
    author: str | None,
    push: bool,
    remote: str,
    force: bool,
    allow_dirty: bool,
    as_json: bool,
) -> int:
    """Make DST run what SRC runs: chart versions, image tags and promotion.copy files.

    \b
    Examples:
      toolkit promote staging production --dry-run
      toolkit promote staging production --ref staging/12 --commit --tag
      toolkit promote dev staging --only api
    """
    # Imported here: promotion's planner and editor would slow every other command's start.
    from toolkit.commands import promote

    if (branch or tag or author or push) and not make_commit:
        raise click.UsageError("--branch, --tag, --author and --push go with --commit")
    if dry_run and make_commit:
        raise click.UsageError("--dry-run writes nothing, so it cannot --commit")
    options = promote.PromoteOptions(
        source,
        target,
        ref=ref,
        only=tuple(name for item in only for name in item.split(",") if name),
        dry_run=dry_run,
        commit=make_commit,
        branch=branch,
        tag=tag,
        author=_identity(author),
        push=remote if push else None,
        force=force,
        allow_dirty=allow_dirty,
    )
    result = promote.promote(obj.load(), options, obj.settings)
    show(result, as_json)
    return result.exit_code


@click.command("rollback")
@click.argument("environment", metavar="ENV", shell_complete=complete_environments)
@click.option(
    "--to",
    "ref",
    required=True,
    metavar="REF",
    shell_complete=complete_refs,
    help="The tag or commit to go back to.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and rendered diff; write nothing.")
@click.option("--allow-dirty", is_flag=True, help="Roll back over uncommitted edits in ENV.")
@author_option
@push_option
@remote_option
@json_option
@command_body
def rollback_command(
    obj: Context,
    environment: str,
    ref: str,
    dry_run: bool,
    allow_dirty: bool,
    author: str | None,
    push: bool,
    remote: str,
    as_json: bool,
) -> int:
    """Make ENV's source files what they were at REF (e.g. production/3), as a new commit.

    \b
    Examples:
      toolkit rollback production --to production/3 --dry-run
      toolkit rollback production --to production/3
    """
    from toolkit.commands import rollback  # promotion's YAML editor, as for promote
    from toolkit.promote import writer

    options = rollback.RollbackOptions(
        environment,
        ref,
        dry_run=dry_run,
        allow_dirty=allow_dirty,
        publishing=writer.Publishing(author=_identity(author), remote=remote if push else None),
    )
    result = rollback.rollback(obj.load(), options, obj.settings)
    show(result, as_json)
    return result.exit_code


@click.command("version")
@json_option
@command_body
def version_command(obj: Context, as_json: bool) -> int:
    """Show toolkit's version and the helm and kustomize it would use (as `tools status` finds
    them); a tool not found is shown, not an error.

    \b
    Examples:
      toolkit version
      toolkit version --json
    """
    from toolkit.commands import tools

    show(tools.version(obj.tool_pins(), obj.settings.tools), as_json)
    return 0


COMMANDS = (
    init_command,
    tools_group,
    lock_command,
    promote_command,
    rollback_command,
    version_command,
)
