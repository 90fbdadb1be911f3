"""Committing and tagging a promotion, and its report, in real git repositories."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.promote import release_chart
from tests.helpers import Cli, commit_all, git, json_result


def test_commit_lists_every_change_and_names_source_ref_and_commit(
    locked_repo: Path, run_cli: Cli
) -> None:
    release_chart(locked_repo, "api", "1.5.0")
    git(locked_repo, "tag", "dev-tested")
    tested = git(locked_repo, "rev-parse", "HEAD")
    # Something else staged stays staged and out of the promotion commit.
    (locked_repo / "notes.txt").write_text("unrelated\n")
    git(locked_repo, "add", "notes.txt")

    result = run_cli(locked_repo, "promote", "dev", "staging", "--ref", "dev-tested", "--commit")

    assert result.exit_code == 0, result.stderr
    message = git(locked_repo, "log", "-1", "--format=%B")
    assert message.splitlines()[0] == "promote dev -> staging"
    assert f"Promotes staging to what dev at dev-tested ({tested[:12]}) runs." in message
    assert (
        "- release api: 1.4.0 -> 1.5.0 (version '~1.4' -> '1.5.0': 1.5.0 does not satisfy '~1.4')"
        in message
    )
    assert "- release cert-rotator: unchanged (0.6.2)" in message
    assert "- image ghcr.io/example/web: newTag 3.12.4 -> 3.13.0-rc.2" in message
    assert "- file values/common/api.yaml: updated" in message
    assert f"Toolkit-Promoted-From: dev dev-tested {tested}" in message
    committed = git(locked_repo, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert sorted(committed) == [
        "overlays/staging/kustomization.yaml",
        "overlays/staging/releases.lock",
        "overlays/staging/releases.yaml",
        "overlays/staging/values/common/api.yaml",
    ]
    assert git(locked_repo, "status", "--porcelain") == "A  notes.txt"


def test_commit_on_a_new_branch_with_a_tag_of_its_own_sequence(
    locked_repo: Path, run_cli: Cli
) -> None:
    git(locked_repo, "tag", "staging/9")  # a deploy tag (hydrate --tag): another sequence
    git(locked_repo, "tag", "promote/staging/1")
    git(locked_repo, "tag", "promote/staging/7")
    git(locked_repo, "tag", "promote/staging/not-a-number")

    result = run_cli(
        locked_repo, "promote", "dev", "staging", "--commit", "--branch", "promote-web", "--tag"
    )

    assert result.exit_code == 0, result.stderr
    assert git(locked_repo, "symbolic-ref", "--short", "HEAD") == "promote-web"
    assert git(locked_repo, "rev-parse", "main") != git(locked_repo, "rev-parse", "HEAD")
    assert git(locked_repo, "rev-parse", "promote/staging/8^{commit}") == git(
        locked_repo, "rev-parse", "HEAD"
    )
    assert git(locked_repo, "cat-file", "-t", "promote/staging/8") == "tag"
    assert "newTag 3.12.4 -> 3.13.0-rc.2" in git(
        locked_repo, "tag", "-n20", "-l", "promote/staging/8"
    )
    assert git(locked_repo, "tag", "-l", "staging/*") == "staging/9"
    assert "on branch promote-web, tagged promote/staging/8" in result.stdout


def test_an_existing_branch_is_refused_before_anything_is_written(
    locked_repo: Path, run_cli: Cli
) -> None:
    git(locked_repo, "branch", "taken")
    result = run_cli(locked_repo, "promote", "dev", "staging", "--commit", "--branch", "taken")
    assert result.exit_code == 2
    assert "--branch 'taken' exists already" in result.stderr
    assert git(locked_repo, "status", "--porcelain") == ""


def test_json_reports_the_commit(locked_repo: Path, run_cli: Cli) -> None:
    result = run_cli(locked_repo, "promote", "dev", "staging", "--commit", "--json")
    assert result.exit_code == 0, result.stderr
    document = json_result(result.stdout)
    assert document["written"] is True
    assert document["commit"] == git(locked_repo, "rev-parse", "HEAD")
    assert document["source"] == "dev" and document["target"] == "staging"
    assert {r["name"]: r["to"] for r in document["releases"]} == {
        "api": "1.4.0",
        "cert-rotator": "0.6.2",
    }


def test_a_promoted_tag_is_what_the_next_promotion_reads(locked_repo: Path, run_cli: Cli) -> None:
    assert run_cli(locked_repo, "promote", "dev", "staging", "--commit", "--tag").exit_code == 0
    (locked_repo / "overlays/staging/values/common/api.yaml").write_text("moved: on\n")
    commit_all(locked_repo, "staging moves on")
    result = run_cli(locked_repo, "promote", "staging", "production", "--ref", "promote/staging/1")
    assert result.exit_code == 0, result.stderr
    promoted = (locked_repo / "overlays/production/values/common/api.yaml").read_text()
    assert "2.9.0-rc.1" in promoted
