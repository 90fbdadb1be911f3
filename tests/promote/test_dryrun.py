"""`promote --dry-run` shows DST's rendered diff, rendered for real, with nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers import Cli, git, json_result, recording_helm, templates_run, toolkit_with
from toolkit.render import tools


def test_dry_run_shows_dst_rendered_diff_and_writes_nothing(
    locked_repo: Path, run_cli: Cli
) -> None:
    result = run_cli(locked_repo, "promote", "dev", "staging", "--dry-run")

    assert result.exit_code == 1, result.stderr
    lines = result.stdout.splitlines()
    assert "rendered diff of staging, now -> after promotion:" in lines
    assert "-        image: ghcr.io/example/web:3.12.4" in lines
    assert "+        image: ghcr.io/example/web:3.13.0-rc.2" in lines
    assert '+          image: "ghcr.io/example/api:2.9.0-rc.1"' in lines  # as helm printed it
    assert "staging: 0 added, 3 changed, 0 removed" in lines
    assert git(locked_repo, "status", "--porcelain") == ""


def test_dry_run_json_carries_the_diff(locked_repo: Path, run_cli: Cli) -> None:
    result = run_cli(
        locked_repo,
        "promote",
        "dev",
        "staging",
        "--dry-run",
        "--json",
        "--only",
        "ghcr.io/example/web",
    )
    assert result.exit_code == 1, result.stderr
    document = json_result(result.stdout)
    (environment,) = document["diff"]["environments"]
    assert environment["name"] == "staging"
    assert [(r["kind"], r["name"], r["change"]) for r in environment["resources"]] == [
        ("Deployment", "web", "changed")
    ]


def test_nothing_to_promote_renders_nothing(locked_repo: Path, run_cli: Cli) -> None:
    assert run_cli(locked_repo, "promote", "dev", "staging").exit_code == 0
    result = run_cli(locked_repo, "promote", "dev", "staging", "--dry-run", "--allow-dirty")
    assert result.exit_code == 0
    assert "rendered diff" not in result.stdout


def test_dry_run_takes_dst_as_it_stands_from_the_branch_that_holds_it_current(
    locked_repo: Path,
    tmp_path: Path,
    helm_tool: tools.Tool,
    kustomize_tool: tools.Tool,
    render_cache: Path,
) -> None:
    helm, log = recording_helm(helm_tool.path, tmp_path / "recorder")
    kustomize = kustomize_tool.path
    assert toolkit_with(locked_repo, helm, kustomize, "hydrate").exit_code == 0
    shutil.rmtree(render_cache)  # every render the dry run needs runs helm
    log.unlink()
    dry_run = ("promote", "dev", "staging", "--dry-run")
    from_branch = toolkit_with(locked_repo, helm, kustomize, *dry_run, "--json")
    assert from_branch.exit_code == 1, from_branch.stderr
    assert templates_run(log) == ["api", "cert-rotator"]  # staging after the promotion only
    (environment,) = json_result(from_branch.stdout)["diff"]["environments"]
    assert environment["baseFrom"] == "rendered branch"
    shown = toolkit_with(locked_repo, helm, kustomize, *dry_run).stdout
    git(locked_repo, "branch", "-D", "rendered")  # now staging as it stands renders too
    assert toolkit_with(locked_repo, helm, kustomize, *dry_run).stdout == shown
