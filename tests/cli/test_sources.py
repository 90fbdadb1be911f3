"""`toolkit version`: toolkit's version and the tools as `tools status` finds them."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Cli, json_result
from toolkit import __version__
from toolkit.render import tools


def test_version_names_toolkit_helm_and_kustomize(
    example_repo: Path, run_cli: Cli, helm_tool: tools.Tool, kustomize_tool: tools.Tool
) -> None:
    result = run_cli(example_repo, "version")

    assert result.exit_code == 0, result.stderr
    toolkit_line, helm_line, kustomize_line = result.stdout.splitlines()
    assert toolkit_line == f"toolkit {__version__}"
    assert helm_line.startswith(f"helm: {helm_tool.version} at {helm_tool.path} (")
    assert kustomize_line.startswith(f"kustomize: {kustomize_tool.version} at ")

    document = json_result(run_cli(example_repo, "version", "--json").stdout)
    status = json_result(run_cli(example_repo, "tools", "status", "--json").stdout)
    assert document == {"toolkit": __version__, **status}


def test_version_shows_a_missing_tool_and_succeeds(example_repo: Path, run_cli: Cli) -> None:
    result = run_cli(example_repo, "version", "--helm", str(example_repo / "no-helm"))
    assert result.exit_code == 0, result.stderr
    assert f"helm: not found: --helm names {example_repo / 'no-helm'}, which does not exist" in (
        result.stdout
    )
