"""Rolling back: `git revert` of a source commit, then `hydrate --push`, puts back the earlier
manifests byte for byte. The revert is a newer commit, so never-backwards lets it through and
stops a late job for the reverted commit instead."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.ci import Remote, tiny_overlay
from tests.helpers import Cli, git


def manifests(repo: Path, rev: str) -> dict[str, str]:
    """Every manifest on the rendered branch at `rev`, by path (not the provenance files)."""
    paths = git(repo, "ls-tree", "-r", "--name-only", rev).splitlines()
    return {
        path: git(repo, "cat-file", "blob", f"{rev}:{path}")
        for path in paths
        if not path.endswith(("/hydrator.metadata", "/README.md"))
    }


def hydrate(remote: Remote, name: str, run_cli: Cli, branch: str = "main") -> str:
    result = run_cli(remote.clone(name, depth=1, branch=branch), "hydrate", "--push", "--tag")
    assert result.exit_code == 0, result.stderr
    return result.stderr


def test_git_revert_then_hydrate_restores_the_previous_manifests_byte_for_byte(
    tiny_remote: Remote, run_cli: Cli
) -> None:
    hydrate(tiny_remote, "before", run_cli)
    good = tiny_remote.rendered()
    assert good is not None
    bad = tiny_remote.commit({**tiny_overlay("dev", "v1"), **tiny_overlay("prod", "v1")}, "v1")
    git(tiny_remote.author, "push", "-q", "origin", f"{bad}:refs/heads/at-bad")
    hydrate(tiny_remote, "bad", run_cli)
    assert manifests(tiny_remote.bare, "rendered") != manifests(tiny_remote.bare, good)

    git(tiny_remote.author, "revert", "--no-edit", bad)
    git(tiny_remote.author, "push", "-q", "origin", "HEAD:refs/heads/main")
    revert = git(tiny_remote.author, "rev-parse", "HEAD")
    stderr = hydrate(tiny_remote, "revert", run_cli)

    assert "dev: 0 added, 2 changed, 0 removed" in stderr
    assert manifests(tiny_remote.bare, "rendered") == manifests(tiny_remote.bare, good)
    for env in ("dev", "prod"):
        assert json.loads(tiny_remote.show(f"{env}/hydrator.metadata"))["drySha"] == revert
    assert "tagged dev/3" in stderr

    late = hydrate(tiny_remote, "late", run_cli, branch="at-bad")  # a late job for the bad one

    assert f"dev: skipped: the branch holds a render of a newer commit, {revert[:12]}" in late
    assert manifests(tiny_remote.bare, "rendered") == manifests(tiny_remote.bare, good)
