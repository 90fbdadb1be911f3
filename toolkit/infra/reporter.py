"""The one channel for warnings and notes: every command's messages go through a Reporter,
which writes them to one stream (stderr, from the CLI) by verbosity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def _discard(line: str) -> None:
    """Where a silent reporter (a library call, a test) sends its lines."""


@dataclass(frozen=True)
class Reporter:
    write: Callable[[str], None] = _discard
    verbosity: int = 0  # -v counts up, -q down

    def line(self, message: str, *, level: int = 0) -> None:
        """A line for verbosity `level` and above (1: -v only)."""
        if self.verbosity >= level:
            self.write(message)

    def always(self, message: str) -> None:
        """A line shown even with -q (what stops a run)."""
        self.write(message)

    def warning(self, message: str) -> None:
        self.line(f"warning: {message}")

    def note(self, message: str, *, level: int = 0) -> None:
        self.line(f"note: {message}", level=level)


SILENT = Reporter()
