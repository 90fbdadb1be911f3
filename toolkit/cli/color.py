"""Whether toolkit colours what it prints: `--color always` or `never` say so; `auto` (the
default) colours only a terminal, and never with NO_COLOR set (https://no-color.org) or
TERM=dumb (a terminal that shows escape codes as text); and whether it draws the live display
of renders."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

CHOICES = ("auto", "always", "never")


def wants_color(choice: str, stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    if choice != "auto":  # the flag wins over the environment, as no-color.org asks
        return choice == "always"
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def wants_live_display(verbosity: int, stream: TextIO) -> bool:
    """Whether `stream` gets the live display of renders: a terminal, unless -q."""
    return verbosity >= 0 and stream.isatty()


def redraws(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the terminal can move its cursor to redraw lines: not TERM=dumb."""
    return environ.get("TERM") != "dumb"
