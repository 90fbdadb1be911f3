"""The `toolkit` group: its commands, and the global options every one of them accepts before
or after its name."""

from __future__ import annotations

import click

from toolkit import __version__
from toolkit.cli import outputs, sources
from toolkit.cli.completion import completion_command
from toolkit.cli.options import add_global_options, global_options, json_before_the_command


@click.group(
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


for command in (*outputs.COMMANDS, *sources.COMMANDS):
    add_global_options(command)
    main.add_command(command)
main.add_command(completion_command)  # prints a script: no global options, no repository
