"""git plumbing: identities, ancestry in shallow clones, notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import commit_all, git, make_repo
from toolkit import git as gitmod
from toolkit.errors import InputError


def test_parse_identity() -> None:
    assert gitmod.parse_identity("CI Bot <ci@example.com>", what="--author") == gitmod.Identity(
        "CI Bot", "ci@example.com"
    )
    for bad in ("CI Bot", "<ci@example.com>", "CI <a b>", "A <a> <b>"):
        with pytest.raises(InputError, match='is not "Name <email>"'):
            gitmod.parse_identity(bad, what="--author")


def test_ancestry_in_a_shallow_clone_needs_deepening(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "src", {"a.txt": "1"}, example=False)
    first = git(repo, "rev-parse", "HEAD")
    (repo / "a.txt").write_text("2")
    second = commit_all(repo, "second")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", repo.as_uri(), str(clone))
    assert gitmod.is_shallow(clone) and not gitmod.has_commit(clone, first)
    gitmod.fetch_commits(clone, "origin", [first])
    assert gitmod.has_commit(clone, first)
    assert not gitmod.is_ancestor(clone, first, second), "cut off: git cannot see the link"
    gitmod.unshallow(clone, "origin")
    assert not gitmod.is_shallow(clone)
    assert gitmod.is_ancestor(clone, first, second)


def test_notes_round_trip_whatever_the_fan_out(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "src", {"a.txt": "1"}, example=False)
    who = gitmod.Identity("t", "t@example.com")
    head = git(repo, "rev-parse", "HEAD")
    notes = gitmod.write_notes(
        repo, ref="refs/notes/test", parent=None, committer=who, message="m\n", notes={head: b"hi"}
    )
    assert gitmod.read_note(repo, notes, head) == b"hi"
    assert gitmod.read_note(repo, notes, "0" * 40) is None
    assert git(repo, "notes", "--ref=test", "show", head) == "hi"
