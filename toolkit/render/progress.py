"""A run's progress as it goes: each environment's line as soon as its renders are done (not
all at the end); in GitHub Actions (GITHUB_ACTIONS=true) a collapsible group per environment
and an error annotation, on the file and line, for each error that has them; in GitLab CI
(GITLAB_CI=true) a collapsed section per environment; and on a terminal, a live display of
each environment's renders done of its total while they run (rich's, or one status line where
the terminal cannot redraw)."""

from __future__ import annotations

import abc
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from toolkit.infra.errors import RenderError, ToolkitError
from toolkit.infra.reporter import Reporter

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def in_gitlab_ci() -> bool:
    return os.environ.get("GITLAB_CI") == "true"


@dataclass(frozen=True)
class Progress:
    """Says how each environment went through the run's reporter: with -v, or in a CI log in
    a collapsible group (GitHub Actions) or section (GitLab CI) of its own."""

    reporter: Reporter
    github: bool = field(default_factory=in_github_actions)
    gitlab: bool = field(default_factory=in_gitlab_ci)
    clock: Callable[[], float] = time.time  # GitLab's section markers carry the time

    def rendered(self, name: str, renders: int, cached: int) -> None:
        """An environment's renders are done (render_plan's on_environment)."""
        line = f"{name}: {renders} renders, {cached} from the cache"
        if self.github:
            framed = [f"::group::{_escaped(name)}", line, "::endgroup::"]
        elif self.gitlab:
            framed = gitlab_section(name, [line], int(self.clock()))
        else:
            self.reporter.line(line, level=1)
            return
        for grouped in framed:
            self.reporter.line(grouped)

    def failed(self, name: str, error: ToolkitError) -> None:
        """An environment failed and the run goes on (--keep-going): its annotation now."""
        note = annotation(error)
        if note is not None:
            self.reporter.always(note)


def annotation(error: ToolkitError) -> str | None:
    """A GitHub Actions error annotation for `error` on its file and line, where it has one
    and the run is in GitHub Actions; None otherwise."""
    if not in_github_actions() or not isinstance(error, RenderError) or error.file is None:
        return None
    place = f"file={_escaped(error.file, property=True)}"
    if error.line is not None:
        place += f",line={error.line}"
    return f"::error {place}::{_escaped(str(error))}"


def _escaped(text: str, *, property: bool = False) -> str:
    """`text` as a workflow command carries it (one line; `:` and `,` also in a property)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property else text


_CLEAR = "\r\x1b[0K"  # GitLab's marker ends so: the marker's text is cleared from the line


def gitlab_section(name: str, lines: list[str], now: int) -> list[str]:
    """`lines` in a GitLab CI section headed `name`, collapsed, as GitLab's job log documents
    it. The time is in these markers alone, never in a file or on the branch."""
    section = "toolkit-" + re.sub(r"[^a-zA-Z0-9_.-]", "_", name)  # what GitLab's names allow
    start = f"\x1b[0Ksection_start:{now}:{section}[collapsed=true]{_CLEAR}{name}"
    return [start, *lines, f"\x1b[0Ksection_end:{now}:{section}{_CLEAR}"]


class Watcher:
    """Hears how a run's renders go as render_plan runs them: this one ignores it all."""

    def planned(self, totals: Mapping[str, int]) -> None:
        """The renders start: how many each environment has, in the plan's order."""

    def advanced(self, environment: str) -> None:
        """One of `environment`'s renders is done (or answered from the cache)."""

    def failed(self, environment: str) -> None:
        """One of `environment`'s renders failed (--keep-going goes on)."""

    def stopped(self) -> None:
        """The renders are over, however they ended."""


UNWATCHED = Watcher()


class Display(Watcher, abc.ABC):
    """A display on a terminal: the run's lines go through `write`, above it while drawn."""

    @abc.abstractmethod
    def write(self, line: str) -> None: ...


def terminal_display(
    stream: TextIO, *, color: bool, redraws: bool, plain: Callable[[str], None]
) -> Display:
    """The live display for a terminal `stream`: rows redrawn in place where the terminal can
    move its cursor (`redraws`), else one status line rewritten after a carriage return."""
    if redraws:
        return LiveDisplay(stream, color=color, plain=plain)
    return StatusLine(stream, plain=plain)


class LiveDisplay(Display):
    """A terminal's live display (rich): a row per environment with its renders done of its
    total, drawn on `stream` while renders run and erased when they end, so what stays on
    the screen is the same lines as in a log. The run's lines go through `write`, which
    prints them above the display while it is drawn (through `plain` when it is not)."""

    def __init__(self, stream: TextIO, *, color: bool, plain: Callable[[str], None]) -> None:
        self._stream = stream
        self._color = color
        self._plain = plain
        self._progress: RichProgress | None = None
        self._tasks: dict[str, TaskID] = {}

    def write(self, line: str) -> None:
        if self._progress is None:
            self._plain(line)
        else:
            self._progress.console.out(line)

    def planned(self, totals: Mapping[str, int]) -> None:
        if not totals:
            return
        # Imported here: only a terminal's runs pay for loading rich.
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        console = Console(
            file=self._stream,
            color_system="auto" if self._color else None,  # None: no styles, only the cursor
            highlight=False,
            emoji=False,
        )
        width = max((len(name) for name in totals), default=0) + len(" (failed)")
        columns = [
            TextColumn(f"{{task.description:<{width}}}", markup=False),
            *([BarColumn()] if self._color else []),
            MofNCompleteColumn(),
            TextColumn("renders", markup=False),
        ]
        progress = Progress(
            *columns,
            console=console,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._tasks = {name: progress.add_task(name, total=count) for name, count in totals.items()}
        progress.start()
        self._progress = progress

    def advanced(self, environment: str) -> None:
        if self._progress is not None and environment in self._tasks:
            self._progress.advance(self._tasks[environment])

    def failed(self, environment: str) -> None:
        if self._progress is not None and environment in self._tasks:
            task = self._tasks[environment]
            self._progress.update(task, description=f"{environment} (failed)", advance=1)

    def stopped(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks = {}


class StatusLine(Display):
    """The live display for a terminal that cannot move its cursor (TERM=dumb): one line of
    each environment's renders done of its total, rewritten after a carriage return (no escape
    code), cut to the terminal's width so that it never wraps, blanked when renders end."""

    def __init__(self, stream: TextIO, *, plain: Callable[[str], None]) -> None:
        self._stream = stream
        self._plain = plain
        self._totals: dict[str, int] = {}
        self._done: dict[str, int] = {}
        self._failed: set[str] = set()
        self._shown = 0  # the length of the line on the screen

    def write(self, line: str) -> None:
        self._blank()
        self._plain(line)
        self._draw()

    def planned(self, totals: Mapping[str, int]) -> None:
        self._totals = dict(totals)
        self._done = dict.fromkeys(totals, 0)
        self._failed = set()
        self._draw()

    def advanced(self, environment: str) -> None:
        if environment in self._done:
            self._done[environment] += 1
            self._draw()

    def failed(self, environment: str) -> None:
        self._failed.add(environment)
        self.advanced(environment)

    def stopped(self) -> None:
        self._blank()
        self._totals = {}

    def _draw(self) -> None:
        if not self._totals:
            return
        rows = [
            f"{name}{' (failed)' if name in self._failed else ''} {self._done[name]}/{total}"
            for name, total in self._totals.items()
        ]
        text = f"renders: {', '.join(rows)}"[: _width(self._stream) - 1]
        self._stream.write("\r" + text.ljust(self._shown))
        self._stream.flush()
        self._shown = len(text)

    def _blank(self) -> None:
        if self._shown:
            self._stream.write("\r" + " " * self._shown + "\r")
            self._stream.flush()
            self._shown = 0


def _width(stream: TextIO) -> int:
    """The terminal's width in columns (80 where it does not say, as a pseudo-terminal may)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (OSError, ValueError):
        return 80
