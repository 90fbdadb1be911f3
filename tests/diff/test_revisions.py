"""diffsides.py: which commits a diff compares and when the rendered branch stands in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import Cli, commit_all, git, make_repo
from toolkit.diff import revisions
from toolkit.infra.errors import InputError


def test_no_base_without_main_or_a_remote(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"}, example=False)
    git(repo, "branch", "-m", "trunk")
    with pytest.raises(InputError, match=r"no base revision .*pass --base REF"):
        revisions.resolve_base(repo, None, "a.txt")
    assert revisions.resolve_base(repo, "trunk", "a.txt") == git(repo, "rev-parse", "HEAD")
    assert revisions.resolve_head(repo, None) is None


def test_rendered_branch_stands_in_only_for_the_commit_it_names(
    example_repo: Path, run_cli: Cli
) -> None:
    hydrated = git(example_repo, "rev-parse", "HEAD")
    assert run_cli(example_repo, "hydrate", "dev").exit_code == 0
    found = revisions.from_rendered_branch(example_repo, "rendered", "dev", hydrated)
    assert found is not None
    resources = found.resources
    assert found.charts == {"api": "1.4.0", "cert-rotator": "0.6.2"}
    files = git(example_repo, "ls-tree", "-r", "--name-only", "rendered", "dev/").splitlines()
    assert len(resources) == len([f for f in files if f.endswith(".yaml")])
    crd = next(r for r in resources if r.id.kind == "CustomResourceDefinition")
    assert crd.id.namespace == ""
    (example_repo / "later.txt").write_text("x\n")
    later = commit_all(example_repo)
    assert revisions.from_rendered_branch(example_repo, "rendered", "dev", later) is None
    assert revisions.from_rendered_branch(example_repo, "rendered", "staging", hydrated) is None
    assert revisions.from_rendered_branch(example_repo, "no-such-branch", "dev", hydrated) is None
    metadata = json.loads(git(example_repo, "show", "rendered:dev/hydrator.metadata"))
    assert metadata["drySha"] == hydrated
