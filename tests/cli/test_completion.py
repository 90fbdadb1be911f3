"""`toolkit completion bash|zsh|fish`, and what click's completion offers, driven as the shells
drive it (COMP_WORDS and COMP_CWORD, or zsh's and fish's variables)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers import git
from toolkit import cli


def complete(words: str, shell: str = "bash") -> list[str]:
    """The candidates for the last word of `words` (a trailing space: a new, empty word)."""
    typed = words.split()
    cword = len(typed) if words.endswith(" ") else len(typed) - 1
    # fish passes the word being completed itself; bash and zsh its index.
    current = ("" if words.endswith(" ") else typed[-1]) if shell == "fish" else str(cword)
    env = {"COMP_WORDS": words, "COMP_CWORD": current, "_TOOLKIT_COMPLETE": f"{shell}_complete"}
    result = CliRunner().invoke(cli.main, [], env=env, prog_name="toolkit")
    assert result.exit_code == 0, result.output
    if shell == "zsh":  # type, value and help on three lines per candidate
        return result.stdout.splitlines()[1::3]
    if shell == "fish":  # type,value<TAB>help per line
        return [line.split(",", 1)[1].split("\t")[0] for line in result.stdout.splitlines()]
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]  # none: ""


@pytest.fixture
def repo(example_repo: Path) -> Path:
    git(example_repo, "tag", "staging/1")
    git(example_repo, "branch", "feature")
    return example_repo


def test_commands_and_options() -> None:
    assert {"render", "hydrate", "lock", "promote", "completion", "version"} <= set(
        complete("toolkit ")
    )
    assert complete("toolkit hy") == ["hydrate"]
    assert complete("toolkit hydrate --ch") == ["--check"]
    assert "--color" in complete("toolkit --c")
    assert complete("toolkit --color ") == ["auto", "always", "never"]
    assert complete("toolkit completion ") == ["bash", "zsh", "fish"]


def test_environments_releases_and_refs(repo: Path) -> None:
    at = f"toolkit -C {repo}"
    assert complete(f"{at} render ") == ["dev", "staging", "production"]
    assert complete(f"{at} hydrate -v st") == ["staging"]  # global options before or after
    assert complete(f"{at} promote dev ") == ["dev", "staging", "production"]
    assert complete(f"{at} promote dev staging --only ") == ["api", "cert-rotator"]
    assert complete(f"{at} lock ") == ["dev", "staging", "production", "--upgrade"]
    assert complete(f"{at} lock dev --upgrade ") == ["api", "cert-rotator"]
    assert complete(f"{at} diff --base ") == ["feature", "main", "staging/1"]
    assert complete(f"{at} validate --ref st") == ["staging/1"]
    assert complete(f"{at} promote staging production --ref ") == ["feature", "main", "staging/1"]
    assert complete(f"{at} rollback p") == ["production"]
    assert complete(f"{at} rollback production --to s") == ["staging/1"]


def test_toolkit_yaml_is_found_from_a_subdirectory(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo / "overlays" / "staging")
    assert complete("toolkit status p") == ["production"]


def test_outside_a_repository_nothing_is_offered_and_nothing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert complete("toolkit render ") == []
    assert complete("toolkit diff --base ") == []


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish(repo: Path, shell: str) -> None:
    assert complete(f"toolkit -C {repo} render ", shell) == ["dev", "staging", "production"]


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _toolkit_completion toolkit"),
        ("zsh", "compdef _toolkit_completion toolkit"),
        ("fish", 'complete --no-files --command toolkit --arguments "(_toolkit_completion)"'),
    ],
)
def test_the_completion_scripts(shell: str, marker: str) -> None:
    result = CliRunner().invoke(cli.main, ["completion", shell], prog_name="toolkit")
    assert result.exit_code == 0, result.output
    assert marker in result.stdout
    assert "_TOOLKIT_COMPLETE" in result.stdout


def test_an_unknown_shell_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli.main, ["completion", "tcsh"], prog_name="toolkit")
    assert result.exit_code == 2
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in result.stderr
