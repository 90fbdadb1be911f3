"""The command line: click wiring that maps flags to a command's options, calls it and prints
its result (`app.py` the group, `options.py` the global options, `outputs.py` and `sources.py`
the commands, `edge.py` what they share)."""

from toolkit.cli.app import main

__all__ = ["main"]
