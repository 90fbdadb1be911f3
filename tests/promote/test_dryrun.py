"""`promote --dry-run` shows DST's rendered diff, rendered for real, with nothing written."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Cli, git, json_result


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
