"""The one channel for warnings and notes: every command's messages go through a Reporter,
which writes them to one stream (stderr, from the CLI) by verbosity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace


def _discard(line: str) -> None:
    """Where a silent reporter (a library call, a test) sends its lines."""


@dataclass(frozen=True)
class Reporter:
    write: Callable[[str], None] = _discard
    verbosity: int = 0  # -v counts up, -q down
    context: str = ""  # what the warnings and notes are about, e.g. "base (1a2b3c4d5e6f): "
    # The warnings and notes already shown: the same one found twice in a run (both renders
    # of a dry run) is shown once. Shared by every reporter made `within` this one.
    shown: set[str] = field(default_factory=set, compare=False)

    def within(self, context: str) -> Reporter:
        """This reporter, its warnings and notes prefixed with `context`."""
        return replace(self, context=f"{context}: ")

    def line(self, message: str, *, level: int = 0) -> None:
        """A line for verbosity `level` and above (1: -v only)."""
        if self.verbosity >= level:
            self.write(message)

    def always(self, message: str) -> None:
        """A line shown even with -q (what stops a run)."""
        self.write(message)

    def warning(self, message: str) -> None:
        self._once(f"warning: {self.context}{message}", 0)

    def note(self, message: str, *, level: int = 0) -> None:
        self._once(f"note: {self.context}{message}", level)

    def _once(self, line: str, level: int) -> None:
        if line not in self.shown and self.verbosity >= level:
            self.shown.add(line)
            self.write(line)


SILENT = Reporter()
