"""git.py: the temporary worktree and the revisions a diff compares."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import commit_all, git, make_repo
from toolkit import git as toolkit_git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"a.txt": "one\n"}, example=False)


def registered_worktrees(repo: Path) -> int:
    return git(repo, "worktree", "list", "--porcelain").count("worktree ")


@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_temporary_worktree_is_removed_when_the_body_fails(
    repo: Path, failure: type[BaseException]
) -> None:
    head = git(repo, "rev-parse", "HEAD")
    (repo / "a.txt").write_text("work tree edit\n")
    seen: list[Path] = []
    with pytest.raises(failure), toolkit_git.temporary_worktree(repo, head) as tree:
        seen.append(tree)
        assert (tree / "a.txt").read_text() == "one\n"  # the commit, not the work tree
        assert registered_worktrees(repo) == 2
        raise failure()
    assert not seen[0].exists() and not seen[0].parent.exists()
    assert registered_worktrees(repo) == 1
    assert (repo / "a.txt").read_text() == "work tree edit\n"


def test_temporary_worktree_is_removed_even_after_its_directory_vanished(repo: Path) -> None:
    with toolkit_git.temporary_worktree(repo, "HEAD") as tree:
        shutil.rmtree(tree)
    assert registered_worktrees(repo) == 1


def test_a_commit_that_does_not_exist_leaves_nothing(repo: Path) -> None:
    with pytest.raises(toolkit_git.GitError), toolkit_git.temporary_worktree(repo, "0" * 40):
        pass
    assert registered_worktrees(repo) == 1


def test_default_branch_prefers_the_remotes_head(repo: Path, tmp_path: Path) -> None:
    assert toolkit_git.default_branch(repo) == "refs/heads/main"
    clone = tmp_path / "clone"
    git(repo, "clone", "-q", str(repo), str(clone))
    assert toolkit_git.default_branch(clone) == "refs/remotes/origin/main"
    git(clone, "switch", "-q", "-c", "feature")
    (clone / "a.txt").write_text("two\n")
    commit_all(clone)
    base = toolkit_git.merge_base(clone, "HEAD", "refs/remotes/origin/main")
    assert base == git(repo, "rev-parse", "HEAD")


def test_commit_of_and_read_blobs(repo: Path) -> None:
    assert toolkit_git.commit_of(repo, "main") == git(repo, "rev-parse", "HEAD")
    assert toolkit_git.commit_of(repo, "nope") is None
    blob = git(repo, "rev-parse", "HEAD:a.txt")
    assert toolkit_git.read_blobs(repo, [blob, blob]) == [b"one\n", b"one\n"]
    assert toolkit_git.read_blobs(repo, []) == []
