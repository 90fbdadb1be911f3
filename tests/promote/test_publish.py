"""`promote --commit --push`: the commit and its `promote/<env>/<n>` tag onto a real bare remote,
rebuilt on a tip that moved meanwhile, refused where the newer commits changed the same files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Cli, commit_all, git, push_to_bare_remote

CI_BOT = "CI Bot <ci@example.com>"
PROMOTE = ("promote", "dev", "staging", "--commit")


@pytest.fixture
def bare(locked_repo: Path, tmp_path: Path) -> Path:
    """A bare remote `origin` of the example repository, holding main."""
    return push_to_bare_remote(locked_repo, tmp_path / "remote.git")


def push_from_elsewhere(bare: Path, tmp_path: Path, path: str, text: str) -> str:
    """Another clone commits ``path`` and pushes it to main: the remote moves on."""
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", bare.as_uri(), str(other))
    (other / path).write_text(text)
    sha = commit_all(other, f"elsewhere: {path}")
    git(other, "push", "-q", "origin", "main")
    return sha


def test_push_lands_the_commit_and_its_tag_by_the_author(
    locked_repo: Path, bare: Path, run_cli: Cli
) -> None:
    git(locked_repo, "tag", "staging/4")  # a deploy tag: not the promotion sequence
    git(locked_repo, "push", "-q", "origin", "staging/4")

    result = run_cli(locked_repo, *PROMOTE, "--tag", "--push", "--author", CI_BOT)

    assert result.exit_code == 0, result.stderr
    head = git(locked_repo, "rev-parse", "HEAD")
    assert git(bare, "rev-parse", "main") == head
    assert git(bare, "rev-parse", "promote/staging/1^{commit}") == head
    assert git(locked_repo, "rev-parse", "promote/staging/1^{commit}") == head
    assert git(bare, "log", "-1", "--format=%an <%ae>", "main") == CI_BOT
    assert f"committed {head[:12]}, tagged promote/staging/1, pushed to origin/main" in (
        result.stdout
    )


def test_author_without_push_sets_the_local_commit_s_author(
    locked_repo: Path, run_cli: Cli
) -> None:
    result = run_cli(locked_repo, *PROMOTE, "--author", CI_BOT)
    assert result.exit_code == 0, result.stderr
    assert git(locked_repo, "log", "-1", "--format=%an <%ae>") == CI_BOT


def test_the_tag_counts_past_the_remote_s_promotion_tags(
    locked_repo: Path, bare: Path, tmp_path: Path, run_cli: Cli
) -> None:
    git(bare, "tag", "promote/staging/5", "main")  # pushed by another run, not fetched here

    result = run_cli(locked_repo, *PROMOTE, "--tag", "--push")

    assert result.exit_code == 0, result.stderr
    assert git(bare, "rev-parse", "promote/staging/6^{commit}") == git(
        locked_repo, "rev-parse", "HEAD"
    )


def test_a_remote_that_moved_gets_the_commit_rebuilt_on_its_tip(
    locked_repo: Path, bare: Path, tmp_path: Path, run_cli: Cli
) -> None:
    elsewhere = push_from_elsewhere(bare, tmp_path, "overlays/dev/namespace.yaml", "# moved\n")

    result = run_cli(locked_repo, *PROMOTE, "--push", "--tag")

    assert result.exit_code == 0, result.stderr
    local = git(locked_repo, "rev-parse", "HEAD")
    pushed = git(bare, "rev-parse", "main")
    assert pushed != local and git(bare, "rev-parse", "main^") == elsewhere
    assert git(bare, "diff", "--stat", elsewhere, pushed) == git(
        locked_repo, "diff", "--stat", "HEAD^", "HEAD"
    )  # the promotion's files, and nothing of the other commit undone
    assert git(bare, "log", "-1", "--format=%B", pushed) == git(
        locked_repo, "log", "-1", "--format=%B", "HEAD"
    )
    assert git(bare, "rev-parse", "promote/staging/1^{commit}") == pushed
    assert f"rebuilt on origin/main, which had moved; the local branch still has {local[:12]}" in (
        result.stdout
    )


def test_a_remote_that_changed_the_promoted_files_is_refused(
    locked_repo: Path, bare: Path, tmp_path: Path, run_cli: Cli
) -> None:
    path = "overlays/staging/kustomization.yaml"
    text = (locked_repo / path).read_text() + "# edited elsewhere\n"
    elsewhere = push_from_elsewhere(bare, tmp_path, path, text)

    result = run_cli(locked_repo, *PROMOTE, "--push", "--tag")

    assert result.exit_code == 4, result.stderr
    assert f"'origin/main' changed {path} since this was planned" in result.stderr
    local = git(locked_repo, "rev-parse", "HEAD")
    assert (
        f"the commit {local[:12]} stays on the local branch; drop it (git reset --keep HEAD^), "
        "pull (git pull --rebase origin main) and promote again" in result.stderr
    )
    assert git(bare, "rev-parse", "main") == elsewhere
    assert git(bare, "tag", "-l") == ""


@pytest.mark.parametrize(
    ("prepare", "args", "message"),
    [
        (None, ("--push", "--remote", "upstream"), "there is no git remote 'upstream'"),
        ("detach", ("--push",), "HEAD is detached"),
        (None, ("--author", "nobody"), '--author "nobody" is not "Name <email>"'),
    ],
)
def test_bad_push_input_is_refused_before_anything_is_written(
    locked_repo: Path,
    bare: Path,
    run_cli: Cli,
    prepare: str | None,
    args: tuple[str, ...],
    message: str,
) -> None:
    if prepare == "detach":
        git(locked_repo, "checkout", "-q", "--detach")
    head = git(locked_repo, "rev-parse", "HEAD")
    result = run_cli(locked_repo, *PROMOTE, *args)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert git(locked_repo, "status", "--porcelain") == ""
    assert git(locked_repo, "rev-parse", "HEAD") == head


def test_push_goes_with_commit(locked_repo: Path, run_cli: Cli) -> None:
    result = run_cli(locked_repo, "promote", "dev", "staging", "--push")
    assert result.exit_code == 2
    assert "go with --commit" in result.stderr


def test_a_push_that_loses_a_race_is_rebuilt_on_the_new_tip_and_lands(
    locked_repo: Path, bare: Path, tmp_path: Path, run_cli: Cli
) -> None:
    rival = tmp_path / "rival"
    git(tmp_path, "clone", "-q", bare.as_uri(), str(rival))
    (rival / "overlays/dev/namespace.yaml").write_text("# the rival's\n")
    rival_commit = commit_all(rival, "rival")
    # The rival lands between this run's listing of the remote and its push, once.
    hook = locked_repo / ".git/hooks/pre-push"
    mark = tmp_path / "raced"
    hook.write_text(
        "#!/bin/sh\n"
        "unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE\n"
        f'[ -e "{mark}" ] && exit 0\n'
        f'touch "{mark}"\n'
        f'git -C "{rival}" push -q origin HEAD:refs/heads/main\n'
    )
    hook.chmod(0o755)

    result = run_cli(locked_repo, *PROMOTE, "--push", "--tag")

    assert result.exit_code == 0, result.stderr
    assert "lost a race with another run (attempt 1 of 10)" in result.stderr
    assert git(bare, "rev-parse", "main^") == rival_commit
    assert git(bare, "rev-parse", "promote/staging/1^{commit}") == git(bare, "rev-parse", "main")
