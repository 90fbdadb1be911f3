"""The global options, before or after the command, and toolkit.yaml found from anywhere in
the repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers import Cli, CliResult, json_result
from toolkit import cli
from toolkit.render import tools


@pytest.fixture
def toolkit(helm_tool: tools.Tool, kustomize_tool: tools.Tool) -> Cli:
    """`toolkit ARGS...` in the current directory (no -C), the suite's tools named last."""

    def invoke(*args: str) -> CliResult:
        argv = [*args, "--helm", str(helm_tool.path), "--kustomize", str(kustomize_tool.path)]
        result = CliRunner().invoke(cli.main, argv, catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return invoke


def test_global_options_after_the_command(example_repo: Path, run_cli: Cli) -> None:
    result = run_cli(example_repo, "hydrate", "-v", "--check")
    assert result.exit_code == 1, result.stderr  # never hydrated: every environment is stale
    assert "loaded 3 of 3 environments" in result.stderr.splitlines()  # a -v line
    assert "stale: dev: " in result.stderr

    quiet = run_cli(example_repo, "hydrate", "--check", "-q")
    assert quiet.exit_code == 1
    assert quiet.stderr == ""

    # -v before and -q after add up to neither; a flag counts wherever it is.
    both = run_cli(example_repo, "-v", "hydrate", "--check", "-q")
    assert "loaded 3 of 3" not in both.stderr and "stale: dev: " in both.stderr
    assert run_cli(example_repo, "lock", "dev", "--locked").exit_code == 0


def test_dash_c_after_the_command(example_repo: Path, toolkit: Cli) -> None:
    result = toolkit("render", "dev", "-C", str(example_repo))
    assert result.exit_code == 0, result.stderr
    assert "# dev/api/deployment-api.yaml" in result.stdout


def test_json_before_the_command(example_repo: Path, run_cli: Cli) -> None:
    before = run_cli(example_repo, "--json", "lock")
    assert before.exit_code == 0, before.stderr
    assert json_result(before.stdout) == json_result(run_cli(example_repo, "lock", "--json").stdout)
    assert json_result(run_cli(example_repo, "--json", "diff", "dev").stdout)["differs"] is False
    assert json_result(run_cli(example_repo, "--json", "render").stdout)["environments"]


def test_toolkit_yaml_is_found_above_the_current_directory(
    example_repo: Path, toolkit: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(example_repo / "overlays" / "staging")

    result = toolkit("render", "staging")
    assert result.exit_code == 0, result.stderr
    assert "# staging/api/deployment-api.yaml" in result.stdout

    # Paths on the command line stay relative to where toolkit was started.
    result = toolkit("render", "staging", "-o", "out")
    assert result.exit_code == 0, result.stderr
    assert (example_repo / "overlays/staging/out/staging/api/deployment-api.yaml").is_file()


def test_the_search_stops_at_the_repository_top(
    example_repo: Path, toolkit: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repository without toolkit.yaml never borrows the one of a directory above it."""
    inner = example_repo / "vendor" / "other"
    inner.mkdir(parents=True)
    (inner / ".git").mkdir()
    monkeypatch.chdir(inner)

    result = toolkit("render")

    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "toolkit.yaml" in result.stderr
