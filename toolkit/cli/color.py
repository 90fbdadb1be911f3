"""Whether toolkit colours what it prints: `--color always` or `never` say so; `auto` (the
default) colours only a terminal, and never with NO_COLOR set (https://no-color.org) or
TERM=dumb (a terminal that shows escape codes as text)."""

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
