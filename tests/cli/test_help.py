"""Every command's --help ends with examples a user can copy."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from toolkit import cli


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [] if path else [()]  # `toolkit --help` itself
    for name, command in group.commands.items():
        found.append((*path, name))
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
    return found


@pytest.mark.parametrize("words", _commands(cli.main), ids=lambda words: " ".join(words) or "-")
def test_every_help_has_examples(words: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli.main, [*words, "--help"], prog_name="toolkit")
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "Examples:" in lines, result.stdout
    block = lines[lines.index("Examples:") + 1 :]
    examples = block[: block.index("")] if "" in block else block
    assert examples, result.stdout
    assert all("toolkit " in example for example in examples), examples
    assert any(" ".join(words) in example for example in examples), examples
