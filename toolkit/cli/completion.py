"""Shell completion: `toolkit completion bash|zsh|fish` prints the script (click's own), and
the arguments that name something complete from the repository: environments from
toolkit.yaml, releases from their releases.yaml, revisions from git's branches and tags."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from toolkit.cli.options import find_root, given_in
from toolkit.infra.errors import ToolkitError

if TYPE_CHECKING:  # click's completion module loads only when something completes
    from click.shell_completion import CompletionItem

SHELLS = ("bash", "zsh", "fish")
Completer = Callable[[click.Context, click.Parameter, str], list["CompletionItem"]]


def _root(ctx: click.Context) -> Path:
    return find_root(given_in(ctx).get("start") or Path("."))


def _matching(names: Iterable[str], incomplete: str) -> list[CompletionItem]:
    """The names starting with `incomplete`, each once, in the order given."""
    from click.shell_completion import CompletionItem

    return [CompletionItem(name) for name in dict.fromkeys(names) if name.startswith(incomplete)]


def environment_names(ctx: click.Context) -> list[str]:
    """toolkit.yaml's environments, in promotion order; none when it cannot be read (a
    completion never prints an error)."""
    from toolkit.config import project

    try:
        return [env.name for env in project.load_config(_root(ctx)).environments]
    except (ToolkitError, OSError):
        return []


def release_names(ctx: click.Context) -> list[str]:
    """Every environment's release names (those whose releases.yaml can be read)."""
    from toolkit.config import project, releases

    try:
        config = project.load_config(_root(ctx))
    except (ToolkitError, OSError):
        return []
    names: list[str] = []
    for env in config.environments:
        try:
            names += [release.name for release in releases.load_environment(config, env).releases]
        except (ToolkitError, OSError):
            continue
    return names


def complete_environments(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    return _matching(environment_names(ctx), incomplete)


def complete_releases(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    return _matching(release_names(ctx), incomplete)


def complete_refs(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The repository's branches and tags, by short name."""
    from toolkit.infra import git

    try:
        root = _root(ctx)
        names = [
            ref.removeprefix(prefix)
            for prefix in ("refs/heads/", "refs/tags/")
            for ref in git.ref_names(root, prefix)
        ]
    except (ToolkitError, OSError):
        return []
    return _matching(names, incomplete)


def complete_lock_words(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """`lock [ENV]... [--upgrade [RELEASE]...]`: environments, then releases after --upgrade."""
    if "--upgrade" in (ctx.params.get("words") or ()):
        return _matching(release_names(ctx), incomplete)
    return _matching([*environment_names(ctx), "--upgrade"], incomplete)


environments_argument = click.argument(
    "environments", metavar="[ENV]...", nargs=-1, shell_complete=complete_environments
)


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion_command(shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    It completes commands, options, environment names (toolkit.yaml), release names and git
    branches and tags where an argument takes one.

    \b
    Examples:
      eval "$(toolkit completion bash)"        # in ~/.bashrc
      eval "$(toolkit completion zsh)"         # in ~/.zshrc
      toolkit completion fish > ~/.config/fish/completions/toolkit.fish
    """
    root = click.get_current_context().find_root()
    assert isinstance(root.command, click.Command)
    from click.shell_completion import get_completion_class

    completer = get_completion_class(shell)
    assert completer is not None  # one of SHELLS, which click provides
    click.echo(completer(root.command, {}, "toolkit", "_TOOLKIT_COMPLETE").source())
