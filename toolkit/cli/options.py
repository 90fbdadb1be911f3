"""The global options, accepted before the command or after it (`toolkit hydrate -v --check`,
as helm and kubectl accept theirs), made into the one Context every command receives."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from toolkit.cli import color
from toolkit.cli.edge import Context, run_guarded

F = TypeVar("F", bound=Callable[..., Any])
_GIVEN = "toolkit.given"  # the root context's meta: the global options given, wherever
_CONTEXT = "toolkit.context"  # the Context made from them, once


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Keep a global option the user gave; counts (-v, -q) add up across both places."""
    assert param.name is not None
    if ctx.get_parameter_source(param.name) is ParameterSource.DEFAULT:
        return
    given = ctx.find_root().meta.setdefault(_GIVEN, {})
    counted = isinstance(param, click.Option) and param.count
    given[param.name] = given.get(param.name, 0) + value if counted else value


def global_options(*, hidden: bool) -> list[click.Option]:
    """New instances for one command (hidden in its help: the group's help lists them)."""
    common: dict[str, Any] = {"expose_value": False, "callback": _remember, "hidden": hidden}
    return [
        click.Option(
            ["-C", "start"],
            metavar="DIR",
            type=click.Path(file_okay=False, path_type=Path),
            help="Run as if started in DIR (toolkit.yaml is looked for there and above).",
            **common,
        ),
        click.Option(
            ["-j", "--jobs"],
            type=click.IntRange(min=1),
            help="Parallel renders (default: CPU count).",
            **common,
        ),
        click.Option(
            ["--locked"],
            is_flag=True,
            help="A stale releases.lock is an error, not resolved in memory.",
            **common,
        ),
        click.Option(["-v", "--verbose"], count=True, help="Say more.", **common),
        click.Option(["-q", "--quiet"], count=True, help="Say less.", **common),
        click.Option(
            ["--debug"],
            is_flag=True,
            help="Show tracebacks; for a failed render, helm's debug output.",
            **common,
        ),
        click.Option(
            ["--no-cache"],
            is_flag=True,
            help="Run every helm and kustomize render (bypass the render cache and incremental "
            "hydrate).",
            **common,
        ),
        click.Option(
            ["--color"],
            type=click.Choice(color.CHOICES),
            help="Colour the output: auto (a terminal, unless NO_COLOR or TERM=dumb), always "
            "or never.",
            **common,
        ),
        click.Option(["--helm"], help="The helm binary to use.", **common),
        click.Option(["--kustomize"], help="The kustomize (or kubectl) binary to use.", **common),
    ]


def json_before_the_command() -> click.Option:
    """The group's `--json`: `toolkit --json CMD` for a command that has --json."""
    return click.Option(
        ["--json"],
        is_flag=True,
        expose_value=False,
        callback=_remember,
        help="Print the result as JSON (the same as the command's --json).",
    )


def add_global_options(command: click.Command) -> None:
    """Let `command` (and a group's commands) take the global options after its name."""
    command.params.extend(global_options(hidden=True))
    command.epilog = "The global options (toolkit --help) go here too."
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_global_options(sub)


def find_root(start: Path) -> Path:
    """The nearest directory from `start` up holding toolkit.yaml, as git finds `.git`; the
    search stops at a repository's top. `start` itself when there is none."""
    from toolkit.config.project import CONFIG_FILE

    start = start.absolute()
    for directory in (start, *start.parents):
        if (directory / CONFIG_FILE).is_file():
            return directory
        if (directory / ".git").exists():
            break
    return start


def given_in(ctx: click.Context) -> dict[str, Any]:
    """The global options given to `ctx`'s run, wherever on the command line."""
    values: dict[str, Any] = ctx.find_root().meta.setdefault(_GIVEN, {})
    return values


def given() -> dict[str, Any]:
    return given_in(click.get_current_context())


def current_context() -> Context:
    """The Context of the global options given (made on first use, after every option is
    parsed)."""
    from toolkit.infra.reporter import Reporter
    from toolkit.render import progress
    from toolkit.render.settings import RenderSettings, ToolChoice

    meta = click.get_current_context().find_root().meta
    if _CONTEXT not in meta:
        flags = given()
        start = (flags.get("start") or Path(".")).absolute()
        choice = flags.get("color") or "auto"
        verbosity = flags.get("verbose", 0) - flags.get("quiet", 0)
        # Lines as they are: GitLab's section markers carry escape codes that click would
        # strip off a terminal (toolkit's own lines have no colour to strip).
        plain = functools.partial(click.echo, err=True, color=True)
        display = None
        if color.wants_live_display(verbosity, sys.stderr):
            colored = color.wants_color(choice, sys.stderr)
            display = progress.terminal_display(
                sys.stderr, color=colored, redraws=color.redraws(), plain=plain
            )
        settings = RenderSettings(
            tools=ToolChoice(flags.get("helm"), flags.get("kustomize")),
            jobs=flags.get("jobs") or os.cpu_count() or 1,
            locked=bool(flags.get("locked")),
            use_cache=not flags.get("no_cache"),
            # While the display is drawn, the lines go above it.
            reporter=Reporter(plain if display is None else display.write, verbosity),
            watcher=progress.UNWATCHED if display is None else display,
        )
        meta[_CONTEXT] = Context(
            start=start,
            root=find_root(start),
            settings=settings,
            color=choice,
            debug=bool(flags.get("debug")),
        )
    context: Context = meta[_CONTEXT]
    return context


def command_body(func: F) -> F:
    """A command's body, called with the Context first; a ToolkitError becomes one message
    and its exit code. `toolkit --json CMD` is `CMD --json` (every command has --json)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        flags = given()
        if flags.get("json"):
            kwargs["as_json"] = True
        run_guarded(
            bool(flags.get("debug")),
            lambda: func(current_context(), *args, **kwargs),
            # `--format json` (diff, status) prints the same documents as --json
            as_json=bool(kwargs.get("as_json")) or kwargs.get("fmt") == "json",
        )

    return wrapper  # type: ignore[return-value]
