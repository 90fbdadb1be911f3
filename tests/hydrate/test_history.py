"""Never backwards: out-of-order jobs, shallow clones, and the watermark notes."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.ci import Remote, tiny_overlay
from tests.helpers import Cli, git


@pytest.mark.parametrize("order", ["older-first", "newer-first"])
def test_older_and_newer_source_in_either_order_end_with_the_newer(
    tiny_remote: Remote, run_cli: Cli, order: str
) -> None:
    older = tiny_remote.commit(tiny_overlay("dev", "old"), "dev: old")
    git(tiny_remote.author, "push", "-q", "origin", f"{older}:refs/heads/old")
    newer = tiny_remote.commit(tiny_overlay("dev", "new"), "dev: new")
    # CI checkouts are shallow: the late job must fetch what it needs to tell old from new.
    old_clone = tiny_remote.clone("old", depth=1, branch="old")
    new_clone = tiny_remote.clone("new", depth=1)
    runs = [old_clone, new_clone] if order == "older-first" else [new_clone, old_clone]
    outputs = [run_cli(clone, "hydrate", "dev", "--push") for clone in runs]
    assert all(o.exit_code == 0 for o in outputs), [o.stderr for o in outputs]
    assert tiny_remote.show("dev/kustomize/configmap-settings.yaml").endswith("namespace: dev")
    assert "value: new" in tiny_remote.show("dev/kustomize/configmap-settings.yaml")
    assert json.loads(tiny_remote.show("dev/hydrator.metadata"))["drySha"] == newer
    if order == "newer-first":
        assert "skipped: the branch holds a render of a newer commit" in outputs[1].stderr
        assert git(tiny_remote.bare, "rev-list", "--count", "rendered") == "1"


def test_a_late_job_cannot_undo_a_newer_commit_that_changed_nothing(
    tiny_remote: Remote, run_cli: Cli
) -> None:
    """A (dev: a) -> B (dev: b) -> C (dev back to a). Hydrating C changes no file after A, so
    dev's metadata still names A; a late job for B must still see that C came after it."""
    a = tiny_remote.commit(tiny_overlay("dev", "a"), "dev: a")
    git(tiny_remote.author, "push", "-q", "origin", f"{a}:refs/heads/at-a")
    b = tiny_remote.commit(tiny_overlay("dev", "b"), "dev: b")
    git(tiny_remote.author, "push", "-q", "origin", f"{b}:refs/heads/at-b")
    c = tiny_remote.commit(tiny_overlay("dev", "a"), "dev: back to a")
    for name, branch in (("a", "at-a"), ("c", "main"), ("b", "at-b")):
        clone = tiny_remote.clone(name, branch=branch)
        result = run_cli(clone, "hydrate", "dev", "--push")
        assert result.exit_code == 0, result.stderr
    assert "value: a" in tiny_remote.show("dev/kustomize/configmap-settings.yaml")
    assert json.loads(tiny_remote.show("dev/hydrator.metadata"))["drySha"] == a
    note = git(tiny_remote.bare, "notes", "--ref=toolkit", "show", "rendered")
    assert json.loads(note) == {"drySha": {"dev": c}}
    assert "skipped" in result.stderr


def test_a_recorded_commit_nobody_has_any_more_is_an_error_not_a_guess(
    tiny_remote: Remote, run_cli: Cli
) -> None:
    first = tiny_remote.clone("first")
    assert run_cli(first, "hydrate", "--push").exit_code == 0
    # main is rewritten (amended and force-pushed) and the old commit is garbage-collected.
    git(tiny_remote.author, "commit", "-q", "--amend", "-m", "rewritten")
    git(tiny_remote.author, "push", "-q", "--force", "origin", "HEAD:refs/heads/main")
    git(tiny_remote.bare, "reflog", "expire", "--expire=now", "--all")
    git(tiny_remote.bare, "gc", "-q", "--prune=now")
    rewritten = tiny_remote.clone("second", depth=1)
    before = tiny_remote.rendered()
    result = run_cli(rewritten, "hydrate", "dev", "--push")
    assert result.exit_code == 4
    assert "environment 'dev' on branch rendered was hydrated from" in result.stderr
    assert "remove the environment's directory" in result.stderr
    assert "Traceback" not in result.stderr
    assert tiny_remote.rendered() == before


def test_a_shallow_clone_without_a_remote_cannot_decide(tiny_remote: Remote, run_cli: Cli) -> None:
    older = tiny_remote.commit(tiny_overlay("dev", "old"), "dev: old")
    first = tiny_remote.clone("first")
    git(first, "reset", "-q", "--hard", older)
    assert run_cli(first, "hydrate", "dev", "--push").exit_code == 0
    tiny_remote.commit(tiny_overlay("dev", "new"), "dev: new")
    shallow = tiny_remote.clone("shallow", depth=1)
    git(shallow, "fetch", "-q", "origin", "rendered:rendered", older)
    git(shallow, "remote", "remove", "origin")
    result = run_cli(shallow, "hydrate", "dev")
    assert result.exit_code == 4
    assert "shallow and has no remote to deepen it from" in result.stderr
    assert "fetch-depth: 0" in result.stderr
