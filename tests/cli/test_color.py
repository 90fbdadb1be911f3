"""Colour: `--color always|never`, else only on a terminal, and never with NO_COLOR or
TERM=dumb."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import Cli
from toolkit.cli.color import wants_color
from toolkit.render import tools

ESCAPE = "\x1b["


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("choice", "terminal", "environ", "expected"),
    [
        ("auto", True, {"TERM": "xterm-256color"}, True),
        ("auto", False, {"TERM": "xterm-256color"}, False),
        ("auto", True, {"TERM": "dumb"}, False),
        ("auto", True, {"NO_COLOR": "1"}, False),
        ("auto", True, {"NO_COLOR": ""}, True),  # no-color.org: only a non-empty value counts
        ("always", False, {"NO_COLOR": "1", "TERM": "dumb"}, True),  # the flag wins
        ("never", True, {}, False),
    ],
)
def test_when_output_is_coloured(
    choice: str, terminal: bool, environ: dict[str, str], expected: bool
) -> None:
    stream = Terminal() if terminal else io.StringIO()
    assert wants_color(choice, stream, environ) is expected


def test_color_always_and_never_through_a_pipe(changed_example_repo: Path, run_cli: Cli) -> None:
    assert ESCAPE not in run_cli(changed_example_repo, "diff").stdout  # not a terminal
    coloured = run_cli(changed_example_repo, "diff", "--color", "always")
    assert coloured.exit_code == 0, coloured.stderr
    assert f"{ESCAPE}1m== " in coloured.stdout
    assert ESCAPE in run_cli(changed_example_repo, "--color", "always", "diff").stdout


def _on_a_terminal(repo: Path, *args: str, **environ: str) -> str:
    """What `toolkit diff` prints with its stdout on a pseudo-terminal."""
    helm, kustomize = tools.find_helm(), tools.find_kustomize()
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    argv = [sys.executable, "-m", "toolkit", "-C", str(repo), "--helm", str(helm.path)]
    argv += ["--kustomize", str(kustomize.path), "diff", *args]
    with subprocess.Popen(argv, stdout=secondary, env={**env, **environ}) as child:
        os.close(secondary)
        output = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal closes with the child
                break
            if not chunk:
                break
            output += chunk
        assert child.wait(timeout=120) == 0
    os.close(primary)
    return output.decode()


def test_auto_colours_a_terminal_unless_no_color_or_a_dumb_one(
    changed_example_repo: Path,
) -> None:
    assert f"{ESCAPE}1m== " in _on_a_terminal(changed_example_repo, TERM="xterm")
    assert ESCAPE not in _on_a_terminal(changed_example_repo, TERM="xterm", NO_COLOR="1")
    assert ESCAPE not in _on_a_terminal(changed_example_repo, TERM="dumb")
    assert ESCAPE not in _on_a_terminal(changed_example_repo, "--color", "never", TERM="xterm")
