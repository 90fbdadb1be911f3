"""What every command of the CLI shares: the context the global options make, the one place a
failure becomes a message and an exit code, and how a result is printed.

Defining the commands imports little (`toolkit --help`, a completion and `version` start fast):
what a command needs is imported when it runs, here as in the commands' own bodies."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

import click

from toolkit.cli import color
from toolkit.infra import interrupt
from toolkit.infra.errors import RenderError, ToolkitError

if TYPE_CHECKING:
    from toolkit.config import project
    from toolkit.config.toolpins import ToolPin
    from toolkit.infra.reporter import Reporter
    from toolkit.render.settings import RenderSettings


@dataclass(frozen=True)
class Context:
    """The global options, as every command receives them."""

    start: Path  # where toolkit runs (-C, else the current directory)
    root: Path  # the repository root: the nearest directory from `start` up with toolkit.yaml
    settings: RenderSettings
    color: str = "auto"  # --color: auto, always or never
    debug: bool = False

    def colored(self, stream: TextIO) -> bool:
        """Whether what goes to `stream` is coloured (see color.py)."""
        return color.wants_color(self.color, stream)

    @property
    def reporter(self) -> Reporter:
        return self.settings.reporter

    def load(self) -> project.Config:
        """The configuration, once a write that a killed run left half done is put back."""
        from toolkit.config import project
        from toolkit.infra import atomicfiles

        for path in atomicfiles.recover(self.root):
            self.reporter.note(f"{path}: put back as it was (a toolkit run was killed writing it)")
        return project.load_config(self.root)

    def tool_pins(self) -> Mapping[str, ToolPin]:
        """toolkit.yaml's `tools:` pins, where the root has a toolkit.yaml."""
        from toolkit.config import project

        if not (self.root / project.CONFIG_FILE).is_file():
            return {}
        return self.load().tool_pins


class Shown(Protocol):
    """A command's result: JSON for --json, lines for people."""

    def as_dict(self) -> Any: ...

    def lines(self) -> Iterable[str]: ...


def command_name() -> str:
    """The running command's name as typed after `toolkit` (`lock`, `tools status`)."""
    return " ".join(click.get_current_context().command_path.split()[1:])


def print_json(result: Any) -> None:
    """A command's result (its `as_dict()`) as the one JSON document, on stdout."""
    from toolkit.infra import jsondoc

    click.echo(jsondoc.document(command_name(), result), nl=False)


def show(result: Shown, as_json: bool, say: Callable[[str], None] = click.echo) -> None:
    """The result as the JSON document on stdout, or its lines through `say`."""
    if as_json:
        print_json(result.as_dict())
    else:
        for line in result.lines():
            say(line)


def report_failure(exc: ToolkitError, *, debug: bool) -> int:
    """A failure as the user reads it on stderr; its exit code."""
    from toolkit.render.progress import annotation

    if (note := annotation(exc)) is not None:
        click.echo(note, err=True)  # GitHub Actions shows it on the file and line
    if debug and isinstance(exc, RenderError):
        click.echo(exc.debug_output(), err=True)  # the tool's debug output, not our stack
    elif debug:
        import traceback  # only a --debug failure prints a stack

        traceback.print_exc()
    click.echo(f"error: {exc}", err=True)
    return exc.exit_code


def run_guarded(debug: bool, call: Callable[[], int | None], *, as_json: bool = False) -> None:
    """The one place expected failures become a message and an exit code (and, for --json,
    the JSON document of the error on stdout)."""
    try:
        code = call()
    except ToolkitError as exc:
        if interrupt.received():
            # After Ctrl-C or SIGTERM every child was ended: whatever failed then failed of
            # that (a tool probe that could not start, a render cut short), and is reported as
            # the interruption, wherever the signal found the run.
            raise interrupt.Interrupted from None
        if as_json:
            from toolkit.infra import jsondoc

            click.echo(jsondoc.document(command_name(), exc.as_dict(), key="error"), nl=False)
        sys.exit(report_failure(exc, debug=debug))
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(code or 0)


json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
