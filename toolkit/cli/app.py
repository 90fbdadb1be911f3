"""The `toolkit` group: its commands, and the global options every one of them accepts before
or after its name."""

from __future__ import annotations

from typing import Any

import click

from toolkit import __version__
from toolkit.cli import outputs, sources
from toolkit.cli.completion import completion_command
from toolkit.cli.options import add_global_options, global_options, json_before_the_command


class ToolkitGroup(click.Group):
    """The group, which gives a command its global options when it is first looked up: a run
    makes the options of the one command it runs, not the two hundred of every command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # completion prints a script: it takes no global options.
        self.given_global_options: set[str | None] = {completion_command.name}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None and command.name not in self.given_global_options:
            self.given_global_options.add(command.name)
            add_global_options(command)
        return command


@click.group(
    cls=ToolkitGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    params=[*global_options(hidden=False), json_before_the_command()],
)
@click.version_option(__version__, prog_name="toolkit")
def main() -> None:
    """Render, hydrate, promote and diff a GitOps config repository.

    The options below go before the command or after it (`toolkit hydrate -v --check`); run
    anywhere in the repository, toolkit finds toolkit.yaml in the directory or above it.

    \b
    Examples:
      toolkit render dev
      toolkit hydrate --push
      toolkit diff --format markdown
      toolkit promote staging production --dry-run
    """


for command in (*outputs.COMMANDS, *sources.COMMANDS, completion_command):
    main.add_command(command)
