"""`hydrate --keep-going`: what renders is committed, what fails is reported, exit 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Cli, branch_files, break_staging_api, git, json_result


def test_keep_going_commits_the_environments_that_render_and_exits_3(
    example_repo: Path, run_cli: Cli
) -> None:
    break_staging_api(example_repo)
    result = run_cli(example_repo, "hydrate", "--keep-going")
    assert result.exit_code == 3
    files = branch_files(example_repo)
    assert any(f.startswith("dev/") for f in files)
    assert any(f.startswith("production/") for f in files)
    assert not any(f.startswith("staging/") for f in files)
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error == ("error: 1 environment failed to render (staging); the others were hydrated:")
    assert "environment staging, release api" in result.stderr
    assert "broken on purpose" in result.stderr
    assert "staging: skipped: it failed to render" in result.stderr
    assert "Traceback" not in result.stderr
    # The next run, still broken, has nothing more to commit; the branch keeps its commit.
    tip = git(example_repo, "rev-parse", "rendered")
    again = run_cli(example_repo, "hydrate", "--keep-going")
    assert again.exit_code == 3
    assert git(example_repo, "rev-parse", "rendered") == tip


def test_without_keep_going_one_failure_commits_nothing(example_repo: Path, run_cli: Cli) -> None:
    break_staging_api(example_repo)
    result = run_cli(example_repo, "hydrate")
    assert result.exit_code == 3
    assert "broken on purpose" in result.stderr
    assert git(example_repo, "branch", "--list", "rendered") == ""


@pytest.mark.parametrize("flags", [["--check"], ["--check", "--keep-going"]])
def test_check_reports_the_failure(example_repo: Path, run_cli: Cli, flags: list[str]) -> None:
    assert run_cli(example_repo, "hydrate").exit_code == 0
    break_staging_api(example_repo)
    result = run_cli(example_repo, "hydrate", *flags)
    assert result.exit_code == 3
    assert "broken on purpose" in result.stderr


def test_keep_going_json_names_what_was_committed_and_what_failed(
    example_repo: Path, run_cli: Cli
) -> None:
    break_staging_api(example_repo)
    result = run_cli(example_repo, "hydrate", "--keep-going", "--json")
    assert result.exit_code == 3
    hydrated = json_result(result.stdout)  # one document, valid against its schema
    assert hydrated["exitCode"] == 3
    assert hydrated["stale"] == ["dev", "production"]
    (branch,) = hydrated["branches"]
    assert branch["commit"] == git(example_repo, "rev-parse", "rendered")
    (failed,) = hydrated["failed"]
    assert {key: failed[key] for key in ("environment", "release", "file", "line")} == {
        "environment": "staging",
        "release": "api",
        "file": "charts/api/templates/service.yaml",
        "line": 1,
    }
    assert failed["message"].startswith("environment staging, release api (")
    assert "broken on purpose" in failed["message"]
    # stderr says it as a run without --json does
    assert "error: 1 environment failed to render (staging); the others were hydrated:" in (
        result.stderr
    )

    check = run_cli(example_repo, "hydrate", "--check", "--keep-going", "--json")
    assert check.exit_code == 3
    checked = json_result(check.stdout)
    assert checked["exitCode"] == 3 and checked["stale"] == []
    assert [failed["environment"] for failed in checked["failed"]] == ["staging"]
