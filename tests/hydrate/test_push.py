"""`hydrate --push` against a bare remote: races, refusals, shallow clones."""

from __future__ import annotations

import json
import stat

import pytest

from tests.fixtures.ci import Remote, ToolkitProcesses, tiny_overlay, write_files
from tests.helpers import Cli, git, hydrated_environments
from toolkit.hydrate import push
from toolkit.infra.errors import GitError


def metadata(remote: Remote, env: str, rev: str = "rendered") -> dict[str, object]:
    data: dict[str, object] = json.loads(remote.show(f"{env}/hydrator.metadata", rev))
    return data


def test_two_jobs_on_different_environments_both_land_every_time(
    tiny_remote: Remote, toolkit_processes: ToolkitProcesses
) -> None:
    one, two = tiny_remote.clone("one"), tiny_remote.clone("two")
    landed = 0
    for round in range(1, 11):
        value = f"v{round}"
        sha = tiny_remote.commit(
            {**tiny_overlay("dev", value), **tiny_overlay("prod", value)}, f"release {value}"
        )
        for clone in (one, two):
            git(clone, "fetch", "-q", "origin")
            git(clone, "reset", "-q", "--hard", sha)
        outputs = toolkit_processes(
            [(one, ["hydrate", "dev", "--push"]), (two, ["hydrate", "prod", "--push"])]
        )
        assert all(o.returncode == 0 for o in outputs)
        landed += 2
        for env in ("dev", "prod"):
            assert f"value: {value}" in tiny_remote.show(f"{env}/kustomize/configmap-settings.yaml")
            assert metadata(tiny_remote, env)["drySha"] == sha
        history = git(tiny_remote.bare, "rev-list", "--parents", "rendered").splitlines()
        assert len(history) == landed, "every job's commit is on the branch: nothing lost"
        assert all(len(line.split()) <= 2 for line in history), "linear: no merges"
    # Each commit touches only its own environment: no job reverted the other's work.
    for rev in git(tiny_remote.bare, "rev-list", "rendered").splitlines():
        touched = git(tiny_remote.bare, "show", "--format=", "--name-only", rev).splitlines()
        assert len({path.split("/")[0] for path in touched}) == 1


def test_a_push_that_loses_a_race_is_rebuilt_on_the_new_tip(tiny_remote: Remote) -> None:
    clone = tiny_remote.clone("ci")
    base = git(clone, "rev-parse", "HEAD")
    rival = tiny_remote.clone("rival")
    attempts = []

    def build(snapshot: push.Snapshot) -> list[push.RefUpdate]:
        tip = snapshot.get("refs/heads/rendered")
        attempts.append(tip)
        if len(attempts) == 1:
            # Another job lands between this attempt's fetch and its push.
            git(rival, "push", "-q", "origin", f"{base}:refs/heads/rendered")
        args = ["commit-tree", "-m", f"on {tip}", f"{base}^{{tree}}"]
        commit = git(clone, *args, *(["-p", tip] if tip else []))
        return [push.RefUpdate("refs/heads/rendered", commit, tip)]

    said: list[str] = []
    landed = push.push_with_retry(
        clone, "origin", ["refs/heads/rendered"], ["refs/heads/rendered"], build, notify=said.append
    )
    assert attempts == [None, base]
    assert len(said) == 1 and "lost a race with another run (attempt 1 of 10)" in said[0]
    assert tiny_remote.rendered() == landed[0].new
    assert git(tiny_remote.bare, "rev-parse", "rendered^") == base
    assert push.follow_locally(clone, landed) == []
    assert git(clone, "rev-parse", "rendered") == landed[0].new


def test_a_push_refused_by_a_hook_exits_4_and_leaves_everything_as_it_was(
    tiny_remote: Remote, run_cli: Cli
) -> None:
    hook = tiny_remote.bare / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\necho 'rendered branches are pushed by the release bot only' >&2\nexit 1\n"
    )
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    clone = tiny_remote.clone("ci")
    refs_before = git(clone, "for-each-ref")
    result = run_cli(clone, "hydrate", "--push", "--tag")
    assert result.exit_code == 4
    assert "refused the push" in result.stderr
    assert "release bot only" in result.stderr
    assert "Traceback" not in result.stderr
    assert tiny_remote.rendered() is None
    assert git(clone, "for-each-ref") == refs_before, "no local branch, note or tag was made"
    assert git(clone, "status", "--porcelain") == ""


def test_hydrate_push_from_a_depth_1_clone(tiny_remote: Remote, run_cli: Cli) -> None:
    tiny_remote.commit(tiny_overlay("dev", "v2"), "dev: v2")
    first = tiny_remote.clone("first", depth=1)
    assert git(first, "rev-parse", "--is-shallow-repository") == "true"
    assert run_cli(first, "hydrate", "--push").exit_code == 0
    newest = tiny_remote.commit(tiny_overlay("dev", "v3"), "dev: v3")
    second = tiny_remote.clone("second", depth=1)
    result = run_cli(second, "hydrate", "--push")
    assert result.exit_code == 0, result.stderr
    assert metadata(tiny_remote, "dev")["drySha"] == newest
    assert "value: v3" in tiny_remote.show("dev/kustomize/configmap-settings.yaml")
    assert git(second, "rev-parse", "rendered") == tiny_remote.rendered()


def test_a_shallow_clone_settles_untouched_environments_from_git(
    tiny_remote: Remote, run_cli: Cli
) -> None:
    """prod was rendered at the first commit and seen unchanged at the second (a watermark
    note); a clone of the third deep enough to hold the second, not the first, fetches the
    first by name to know that only dev's directory changed since, rather than loading prod."""
    assert run_cli(tiny_remote.clone("first"), "hydrate", "--push").exit_code == 0
    tiny_remote.commit(tiny_overlay("dev", "v2"), "dev: v2")
    assert run_cli(tiny_remote.clone("second"), "hydrate", "--push").exit_code == 0
    tiny_remote.commit(tiny_overlay("dev", "v3"), "dev: v3")
    third = tiny_remote.clone("third", depth=2)

    result = run_cli(third, "hydrate", "--push", "--json")

    assert result.exit_code == 0, result.stderr
    environments = hydrated_environments(result.stdout)
    assert (environments["dev"]["loaded"], environments["prod"]["loaded"]) == (True, False)
    assert environments["prod"]["added"] == environments["prod"]["changed"] == []
    assert "value: v3" in tiny_remote.show("dev/kustomize/configmap-settings.yaml")


def test_push_to_a_missing_remote_says_which(tiny_remote: Remote, run_cli: Cli) -> None:
    clone = tiny_remote.clone("ci")
    result = run_cli(clone, "hydrate", "--push", "--remote", "upstream")
    assert result.exit_code == 4
    assert "no git remote 'upstream'" in result.stderr
    assert git(clone, "branch", "--list", "rendered") == ""


def test_a_local_branch_that_diverged_is_left_alone(tiny_remote: Remote, run_cli: Cli) -> None:
    clone = tiny_remote.clone("ci")
    assert run_cli(clone, "hydrate").exit_code == 0  # a local-only render, never pushed
    local = git(clone, "rev-parse", "rendered")
    write_files(tiny_remote.author, {})
    other = tiny_remote.clone("other")
    assert run_cli(other, "hydrate", "prod", "--push").exit_code == 0
    result = run_cli(clone, "hydrate", "--push")
    assert result.exit_code == 0, result.stderr
    assert "left as it was" in result.stderr
    assert git(clone, "rev-parse", "rendered") == local
    assert set(git(tiny_remote.bare, "ls-tree", "--name-only", "rendered").split()) == {
        "dev",
        "prod",
    }


def test_gives_up_after_the_last_attempt_with_exit_4(tiny_remote: Remote) -> None:
    clone = tiny_remote.clone("ci")
    rival = tiny_remote.clone("rival")
    tree = git(clone, "rev-parse", "HEAD^{tree}")

    def build(snapshot: push.Snapshot) -> list[push.RefUpdate]:
        tip = snapshot.get("refs/heads/rendered")
        # Every time, another job lands first.
        parent = ["-p", tip] if tip else []
        theirs = git(rival, "commit-tree", "-m", "rival", *parent, tree)
        git(rival, "push", "-q", "origin", f"{theirs}:refs/heads/rendered")
        ours = git(clone, "commit-tree", "-m", "ours", *parent, tree)
        return [push.RefUpdate("refs/heads/rendered", ours, tip)]

    with pytest.raises(GitError, match="gave up pushing to 'origin' after 3 attempts") as caught:
        push.push_with_retry(
            clone, "origin", ["refs/heads/rendered"], ["refs/heads/rendered"], build, attempts=3
        )
    assert caught.value.exit_code == 4
    assert git(tiny_remote.bare, "log", "--format=%s", "rendered").split() == ["rival"] * 3


def test_in_a_fresh_clone_push_then_check_agree(tiny_remote: Remote, run_cli: Cli) -> None:
    """A CI clone whose remote branch is current: `hydrate --push` pushes nothing, and the
    local branch then stands where the remote's does, so `hydrate --check` finds nothing stale."""
    first = tiny_remote.clone("first")
    assert run_cli(first, "hydrate", "--push").exit_code == 0
    tip = tiny_remote.rendered()
    ci = tiny_remote.clone("ci")
    pushed = run_cli(ci, "hydrate", "--push")
    assert pushed.exit_code == 0, pushed.stderr
    assert "rendered: nothing to commit" in pushed.stderr
    assert git(ci, "rev-parse", "refs/heads/rendered") == tip
    checked = run_cli(ci, "hydrate", "--check")
    assert checked.exit_code == 0, checked.stderr
    assert tiny_remote.rendered() == tip


def test_check_in_a_fresh_clone_reads_the_remote_branch(tiny_remote: Remote, run_cli: Cli) -> None:
    """No local rendered branch yet: `--check` judges origin/rendered, as `diff` does."""
    assert run_cli(tiny_remote.clone("first"), "hydrate", "--push").exit_code == 0
    fresh = tiny_remote.clone("fresh")
    assert git(fresh, "branch", "--list", "rendered") == ""
    checked = run_cli(fresh, "hydrate", "--check")
    assert checked.exit_code == 0, checked.stderr
    tiny_remote.commit(tiny_overlay("dev", "v1"), "change dev")
    git(fresh, "pull", "-q")
    stale = run_cli(fresh, "hydrate", "--check")
    assert stale.exit_code == 1
    assert "stale: dev" in stale.stderr
