"""Which paths can reach an environment, judged from real git repositories."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import commit_all, git, make_repo
from toolkit.config.project import load_config
from toolkit.hydrate.reach import SourceChanges
from toolkit.infra import git as toolkit_git

ENVIRONMENTS = ("dev", "staging", "production")
FILES = {
    "toolkit.yaml": "environments: [{name: dev}, {name: staging}, {name: production}]\n",
    "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
    "overlays/base/kustomization.yaml": "resources: []\n",
    **{f"overlays/{env}/values.yaml": f"env: {env}\n" for env in ENVIRONMENTS},
}


def changes(repo: Path) -> SourceChanges:
    """What differs from earlier commits, as hydrate sees it at HEAD with the work tree."""
    head = git(repo, "rev-parse", "HEAD")
    return SourceChanges(load_config(repo), head, toolkit_git.work_tree_status(repo))


def test_a_change_in_another_environment_directory_does_not_reach(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES, example=False)
    rendered_at = git(repo, "rev-parse", "HEAD")
    (repo / "overlays/staging/values.yaml").write_text("env: staging\nreplicas: 3\n")
    (repo / "overlays/production/new.yaml").write_text("a: 1\n")
    commit_all(repo, "staging and production")

    seen = changes(repo)

    assert seen.reach_only_others(rendered_at, {"dev"})
    assert not seen.reach_only_others(rendered_at, {"staging"})
    assert not seen.reach_only_others(rendered_at, {"dev", "production"})


def test_a_change_outside_the_environment_directories_reaches_every_one(tmp_path: Path) -> None:
    for changed in ("charts/app/Chart.yaml", "overlays/base/kustomization.yaml", "toolkit.yaml"):
        repo = make_repo(tmp_path / changed.replace("/", "-"), FILES, example=False)
        rendered_at = git(repo, "rev-parse", "HEAD")
        (repo / changed).write_text((repo / changed).read_text() + "# edited\n")
        commit_all(repo, f"edit {changed}")

        assert not changes(repo).reach_only_others(rendered_at, {"dev"})


def test_a_directory_named_like_no_environment_reaches_every_one(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES, example=False)
    rendered_at = git(repo, "rev-parse", "HEAD")
    (repo / "overlays/qa").mkdir()
    (repo / "overlays/qa/values.yaml").write_text("env: qa\n")
    (repo / "overlays/dev-extra.yaml").write_text("a: 1\n")
    commit_all(repo, "not an environment of toolkit.yaml")

    assert not changes(repo).reach_only_others(rendered_at, {"staging"})


def test_nothing_committed_since_reaches_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES, example=False)
    head = git(repo, "rev-parse", "HEAD")

    assert changes(repo).reach_only_others(head, {"dev"})


def test_uncommitted_untracked_and_ignored_files_count(tmp_path: Path) -> None:
    """A hydrate with --allow-dirty renders the work tree, and an ignored file (a decrypted
    secret, a built chart dependency) is read like any other."""
    files = {**FILES, ".gitignore": "*.secret.yaml\n"}
    for dirty in (
        "overlays/staging/values.yaml",  # modified
        "overlays/staging/untracked.yaml",  # untracked
        "overlays/staging/db.secret.yaml",  # ignored
    ):
        repo = make_repo(tmp_path / dirty.replace("/", "-"), files, example=False)
        head = git(repo, "rev-parse", "HEAD")
        (repo / dirty).write_text("changed: true\n")
        seen = changes(repo)

        assert seen.reach_only_others(head, {"dev"}), dirty
        assert not seen.reach_only_others(head, {"staging"}), dirty

    repo = make_repo(tmp_path / "charts-ignored", files, example=False)
    head = git(repo, "rev-parse", "HEAD")
    (repo / "charts/app/values.secret.yaml").write_text("password: x\n")
    assert not changes(repo).reach_only_others(head, {"dev"})


def test_a_rename_counts_where_it_left_and_where_it_went(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES, example=False)
    rendered_at = git(repo, "rev-parse", "HEAD")
    git(repo, "mv", "overlays/staging/values.yaml", "overlays/production/moved.yaml")
    commit_all(repo, "move a file between environments")
    seen = changes(repo)

    assert seen.reach_only_others(rendered_at, {"dev"})
    assert not seen.reach_only_others(rendered_at, {"staging"})
    assert not seen.reach_only_others(rendered_at, {"production"})

    git(repo, "mv", "overlays/production/moved.yaml", "overlays/dev/moved.yaml")  # staged only
    staged = changes(repo)
    head = staged.head
    assert not staged.reach_only_others(head, {"dev"})
    assert not staged.reach_only_others(head, {"production"})
    assert staged.reach_only_others(head, {"staging"})


def test_a_commit_missing_from_the_clone_reaches_everything(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES, example=False)
    missing = "0123456789" * 4

    assert not changes(repo).reach_only_others(missing, {"dev"})


def test_a_repository_below_the_top_of_the_work_tree(tmp_path: Path) -> None:
    """git names paths from the top of the work tree; toolkit's overlays sit below it."""
    top = make_repo(
        tmp_path / "top", {f"gitops/{name}": t for name, t in FILES.items()}, example=False
    )
    (top / "overlays/dev").mkdir(parents=True)  # the same names outside the configuration
    (top / "overlays/dev/values.yaml").write_text("not toolkit's\n")
    commit_all(top, "an unrelated overlays/ at the top")
    rendered_at = git(top, "rev-parse", "HEAD")
    (top / "gitops/overlays/staging/values.yaml").write_text("env: staging\nreplicas: 3\n")
    commit_all(top, "staging")
    repo = top / "gitops"
    seen = changes(repo)
    assert seen.reach_only_others(rendered_at, {"dev"})
    assert not seen.reach_only_others(rendered_at, {"staging"})

    (top / "overlays/dev/values.yaml").write_text("still not toolkit's: nothing reads it\n")
    (top / "README.md").write_text("the rest of a monorepo\n")
    commit_all(top, "outside the configuration")
    assert changes(repo).reach_only_others(rendered_at, {"dev"})
    assert not changes(repo).reach_only_others(rendered_at, {"staging"})


def test_a_render_of_committed_files_may_record_what_it_read(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {**FILES, ".gitignore": "*.local\n"}, example=False)
    assert changes(repo).may_record({"dev"})

    (repo / "overlays/dev/values.local").write_text("an ignored file dev may read\n")
    assert not changes(repo).may_record({"dev"})
    assert changes(repo).may_record({"staging"})
    (repo / "overlays/dev/values.local").unlink()

    (repo / "overlays/staging/values.yaml").write_text("uncommitted\n")
    assert not changes(repo).may_record({"staging"})
    assert changes(repo).may_record({"dev"})


def test_a_symlink_in_any_environment_directory_records_nothing(tmp_path: Path) -> None:
    """A read through overlays/staging/shared -> ../dev/shared is recorded in dev, where it
    leads; replacing the link would change production's render unseen."""
    repo = make_repo(tmp_path / "repo", FILES, example=False)
    (repo / "overlays/dev/shared").mkdir()
    (repo / "overlays/staging/shared").symlink_to("../dev/shared")
    commit_all(repo, "a shared directory, linked")
    assert not changes(repo).may_record({"production"})

    linked_dir = make_repo(tmp_path / "linked-dir", FILES, example=False)
    (linked_dir / "overlays/qa").symlink_to("staging")  # not an environment: no matter
    commit_all(linked_dir, "an alias")
    assert changes(linked_dir).may_record({"production"})
    (linked_dir / "toolkit.yaml").write_text(
        "environments: [{name: dev}, {name: staging}, {name: production}, {name: qa}]\n"
    )
    commit_all(linked_dir, "the alias becomes an environment")
    assert not changes(linked_dir).may_record({"production"})

    untracked = make_repo(tmp_path / "untracked", FILES, example=False)
    (untracked / "overlays/staging/shared").symlink_to("../dev")
    assert not changes(untracked).may_record({"production"})


def test_files_git_is_told_not_to_watch_count_as_uncommitted(tmp_path: Path) -> None:
    for flag in ("--assume-unchanged", "--skip-worktree"):
        repo = make_repo(tmp_path / flag.strip("-"), FILES, example=False)
        git(repo, "update-index", flag, "overlays/staging/values.yaml")
        (repo / "overlays/staging/values.yaml").write_text("env: staging\nreplicas: 9\n")
        assert git(repo, "status", "--porcelain") == "", "git status does not say"

        assert not changes(repo).may_record({"staging"}), flag
        assert changes(repo).may_record({"dev"}), flag
