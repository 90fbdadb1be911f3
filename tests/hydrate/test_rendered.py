"""The rendered branch, written by `toolkit hydrate` in real git repositories."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.fixtures.ci import TINY_CONFIG, TINY_FILES, Remote, tiny_overlay, write_files
from tests.helpers import (
    Cli,
    CliResult,
    branch_files,
    commit_all,
    git,
    hydrated_environments,
    json_result,
    logging_git,
    make_repo,
    show,
)
from toolkit.infra import git as git_module
from toolkit.infra import process
from toolkit.render import tools

ENVIRONMENTS = ("dev", "staging", "production")


def test_branch_is_an_orphan_and_hydrate_leaves_the_work_tree_alone(
    example_repo: Path, run_cli: Cli
) -> None:
    (example_repo / "notes.txt").write_text("ignored by nothing, but --allow-dirty\n")
    status_before = git(example_repo, "status", "--porcelain")
    index_before = git(example_repo, "ls-files", "--stage")
    head_before = git(example_repo, "rev-parse", "HEAD")
    assert run_cli(example_repo, "hydrate", "--allow-dirty").exit_code == 0
    assert git(example_repo, "status", "--porcelain") == status_before
    assert git(example_repo, "ls-files", "--stage") == index_before
    assert git(example_repo, "rev-parse", "HEAD") == head_before
    assert git(example_repo, "symbolic-ref", "HEAD") == "refs/heads/main"
    assert git(example_repo, "rev-list", "--count", "rendered") == "1"
    assert git(example_repo, "log", "--format=%P", "-1", "rendered") == ""


def test_second_hydrate_makes_no_commit(example_repo: Path, run_cli: Cli) -> None:
    assert run_cli(example_repo, "hydrate").exit_code == 0
    first = git(example_repo, "rev-parse", "rendered")
    result = run_cli(example_repo, "hydrate")
    assert result.exit_code == 0
    assert "nothing to commit" in result.stderr
    assert git(example_repo, "rev-parse", "rendered") == first


def test_one_value_changed_changes_only_that_environment(example_repo: Path, run_cli: Cli) -> None:
    assert run_cli(example_repo, "hydrate").exit_code == 0
    before = git(example_repo, "rev-parse", "rendered")
    releases = example_repo / "overlays/staging/releases.yaml"
    data = yaml.safe_load(releases.read_text())
    api = next(r for r in data["releases"] if r["name"] == "api")
    api.setdefault("set", {})["config"] = {"logLevel": "debug"}
    releases.write_text(yaml.safe_dump(data, sort_keys=False))
    commit_all(example_repo, "staging: api logs at debug")
    assert run_cli(example_repo, "hydrate").exit_code == 0
    changed = git(example_repo, "diff", "--name-only", before, "rendered").splitlines()
    assert changed, "the change must reach the branch"
    assert all(path.startswith("staging/") for path in changed), changed
    assert "staging/api/configmap-api.yaml" in changed
    assert "debug" in show(example_repo, "staging/api/configmap-api.yaml")


def test_removing_a_release_removes_its_files(example_repo: Path, run_cli: Cli) -> None:
    assert run_cli(example_repo, "hydrate").exit_code == 0
    assert any(f.startswith("dev/cert-rotator/") for f in branch_files(example_repo))
    releases = example_repo / "overlays/dev/releases.yaml"
    data = yaml.safe_load(releases.read_text())
    data["releases"] = [r for r in data["releases"] if r["name"] != "cert-rotator"]
    releases.write_text(yaml.safe_dump(data, sort_keys=False))
    commit_all(example_repo, "dev: drop cert-rotator")
    assert run_cli(example_repo, "hydrate").exit_code == 0
    files = branch_files(example_repo)
    assert not any(f.startswith("dev/cert-rotator/") for f in files)
    assert any(f.startswith("staging/cert-rotator/") for f in files)


def test_files_outside_environment_directories_survive(
    example_repo: Path, tmp_path: Path, run_cli: Cli
) -> None:
    assert run_cli(example_repo, "hydrate").exit_code == 0
    work = tmp_path / "rendered-work"
    git(example_repo, "worktree", "add", "-q", str(work), "rendered")
    (work / "CODEOWNERS").write_text("* @platform\n")
    (work / "dev" / "hand-made.yaml").write_text("kind: Stray\n")
    commit_all(work, "add CODEOWNERS")
    git(example_repo, "worktree", "remove", "--force", str(work))
    shutil.rmtree(work, ignore_errors=True)
    env_change = example_repo / "overlays/dev/kustomization.yaml"
    env_change.write_text(env_change.read_text() + "commonAnnotations: {touched: 'yes'}\n")
    commit_all(example_repo, "annotate dev")
    assert run_cli(example_repo, "hydrate").exit_code == 0
    files = branch_files(example_repo)
    assert "CODEOWNERS" in files
    assert show(example_repo, "CODEOWNERS") == "* @platform"
    assert "dev/hand-made.yaml" not in files, "toolkit owns <env>/ and prunes what it did not write"


def test_render_refuses_to_replace_a_directory_it_did_not_write(
    example_repo: Path, tmp_path: Path, run_cli: Cli
) -> None:
    out = tmp_path / "out"
    (out / "dev").mkdir(parents=True)
    (out / "dev" / "precious.txt").write_text("keep me")
    result = run_cli(example_repo, "render", "dev", "-o", str(out))
    assert result.exit_code == 2
    assert "was not written by toolkit" in result.stderr
    assert (out / "dev" / "precious.txt").read_text() == "keep me"


def test_render_to_stdout_is_a_yaml_stream(example_repo: Path, run_cli: Cli) -> None:
    result = run_cli(example_repo, "render", "dev")
    assert result.exit_code == 0
    documents = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert {d["kind"] for d in documents} >= {"Deployment", "Service", "CustomResourceDefinition"}
    assert "# dev/api/deployment-api.yaml" in result.stdout


def renders_reported(stdout: str) -> dict[str, tuple[int, int]]:
    """(renders, answered by the cache) of each environment `hydrate --json` rendered."""
    return {
        env: (fields["renders"], fields["rendersFromCache"])
        for env, fields in hydrated_environments(stdout).items()
        if fields["renders"]
    }


def loaded(stdout: str) -> int:
    """How many environments `hydrate --json` says it loaded and hashed."""
    return sum(fields["loaded"] for fields in hydrated_environments(stdout).values())


def unchanged(stdout: str, env: str) -> bool:
    fields = hydrated_environments(stdout)[env]
    return not (fields["added"] or fields["changed"] or fields["removed"] or fields["skipped"])


def test_hydrate_renders_only_the_environments_whose_inputs_changed(
    example_repo: Path, run_cli: Cli, render_cache: Path
) -> None:
    assert run_cli(example_repo, "hydrate").exit_code == 0
    before = git(example_repo, "rev-parse", "rendered")
    values = example_repo / "overlays/dev/values/api.yaml"
    values.write_text(values.read_text().replace("logLevel: debug", "logLevel: trace"))
    commit_all(example_repo, "dev: api logs at trace")
    result = run_cli(example_repo, "hydrate", "--json")
    assert result.exit_code == 0, result.stderr
    # dev's api and kustomize renders run again (a file in overlays/dev changed); its
    # cert-rotator render comes from the cache; staging and production are not rendered at all.
    assert renders_reported(result.stdout) == {"dev": (3, 1)}
    assert loaded(result.stdout) == 1  # only overlays/dev changed: the others were not read
    environments = hydrated_environments(result.stdout)
    assert "dev/api/configmap-api.yaml" in environments["dev"]["changed"]
    for env in ("staging", "production"):
        assert environments[env] == {
            "name": env,
            "stale": False,
            "added": [],
            "changed": [],
            "removed": [],
            "skipped": None,
            "loaded": False,
            "renders": 0,
            "rendersFromCache": 0,
        }
        assert git(example_repo, "rev-parse", f"{before}:{env}") == git(
            example_repo, "rev-parse", f"rendered:{env}"
        )
    metadata = json.loads(show(example_repo, "dev/hydrator.metadata"))
    assert metadata["drySha"] == git(example_repo, "rev-parse", "HEAD")


def test_environments_hydrated_together_ask_git_once_whether_the_branch_is_ahead(
    example_repo: Path, run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli(example_repo, "hydrate").exit_code == 0
    values = example_repo / "overlays/dev/values/api.yaml"
    values.write_text(values.read_text().replace("logLevel: debug", "logLevel: trace"))
    commit_all(example_repo, "dev: api logs at trace")
    asked: list[tuple[str, str]] = []
    is_ancestor = git_module.is_ancestor

    def counted(repo: Path, ancestor: str, descendant: str) -> bool:
        asked.append((ancestor, descendant))
        return is_ancestor(repo, ancestor, descendant)

    monkeypatch.setattr(git_module, "is_ancestor", counted)
    assert run_cli(example_repo, "hydrate").exit_code == 0
    # The three environments were rendered from one commit: one pair of questions, not three.
    assert len(asked) == 2 and len(set(asked)) == 2, asked
    metadata = json.loads(show(example_repo, "dev/hydrator.metadata"))
    assert metadata["drySha"] == git(example_repo, "rev-parse", "HEAD")


# What a hydrate with nothing to do asks git, one process each: where the repository and its
# git directory are, its status with the commit HEAD points at, the remote (whether to fetch
# from it), the files hidden from git, the branch and notes tips with what they are (one
# for-each-ref), and the notes with every environment's metadata (one cat-file --batch). HEAD's
# subject is asked only by what writes it (a commit, a README, a tag).
NOTHING_TO_DO_GIT_PROCESSES = 6


def test_a_hydrate_with_nothing_to_do_asks_git_in_few_processes(
    example_repo: Path, run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli(example_repo, "hydrate").exit_code == 0
    log = logging_git(tmp_path / "bin", monkeypatch)
    before = git(example_repo, "rev-parse", "rendered")
    log.unlink(missing_ok=True)

    result = run_cli(example_repo, "hydrate")

    assert result.exit_code == 0, result.stderr
    calls = log.read_text().splitlines()  # before the checks below call git themselves
    assert "rendered: nothing to commit" in result.stderr
    assert git(example_repo, "rev-parse", "rendered") == before
    assert len(calls) == NOTHING_TO_DO_GIT_PROCESSES, calls
    # The refs in one process; the notes and every environment's metadata in one.
    assert sum(call.startswith("for-each-ref") for call in calls) == 1
    assert not any(call.startswith("log") for call in calls)  # HEAD came with the status
    assert not any(call.startswith("cat-file --batch-check") for call in calls)
    assert calls.count("cat-file --batch") == 1
    assert sum(call.startswith("rev-parse") for call in calls) == 1  # where everything is
    assert sum(call.startswith("remote get-url") for call in calls) == 1


def test_a_hydrate_that_commits_asks_for_the_identity_once_and_fast_import_for_the_commits(
    example_repo: Path, run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The author and the committer come from one `git config`; each commit's id from the
    fast-import that wrote it (its `get-mark`), not from a git process after it."""
    monkeypatch.delenv("GIT_AUTHOR_NAME", raising=False)
    monkeypatch.delenv("GIT_COMMITTER_NAME", raising=False)
    log = logging_git(tmp_path / "bin", monkeypatch)

    result = run_cli(example_repo, "hydrate")

    assert result.exit_code == 0, result.stderr
    calls = log.read_text().splitlines()
    assert sum(call.startswith("config --get-regexp") for call in calls) == 1
    assert sum(call.startswith("fast-import") for call in calls) == 2  # the branch, the notes
    assert not any(call.startswith("rev-parse --verify") for call in calls)
    assert (
        git(example_repo, "log", "-1", "--format=%an <%ae>", "rendered")
        == git(example_repo, "config", "user.name")
        + " <"
        + git(example_repo, "config", "user.email")
        + ">"
    )


def test_a_commit_that_changes_no_input_renders_nothing(
    example_repo: Path, run_cli: Cli, render_cache: Path
) -> None:
    assert run_cli(example_repo, "hydrate").exit_code == 0
    before = git(example_repo, "rev-parse", "rendered")
    (example_repo / "docs.md").write_text("not an input of any environment\n")
    commit_all(example_repo, "docs")
    shutil.rmtree(render_cache)  # not answered from the cache either: not rendered at all
    result = run_cli(example_repo, "hydrate", "--json")
    assert result.exit_code == 0, result.stderr
    assert renders_reported(result.stdout) == {}
    assert loaded(result.stdout) == 3  # outside every environment: their hashes decide
    assert not render_cache.exists()
    assert git(example_repo, "rev-parse", "rendered") == before
    assert all(unchanged(result.stdout, env) for env in ENVIRONMENTS)


def test_no_cache_renders_every_environment_and_changes_nothing(
    example_repo: Path, run_cli: Cli, render_cache: Path
) -> None:
    assert run_cli(example_repo, "hydrate").exit_code == 0
    before = git(example_repo, "rev-parse", "rendered")
    result = run_cli(example_repo, "--no-cache", "hydrate", "--json")
    assert result.exit_code == 0, result.stderr
    reported = renders_reported(result.stdout)
    assert sorted(reported) == sorted(ENVIRONMENTS)
    assert all(cached == 0 for _, cached in reported.values())
    assert git(example_repo, "rev-parse", "rendered") == before


def test_a_recorded_hash_that_differs_rerenders_the_environment(
    example_repo: Path, tmp_path: Path, run_cli: Cli, render_cache: Path
) -> None:
    """A branch written by another toolkit version (another hash) is re-rendered, and its
    metadata brought up to date even where no manifest changed."""
    assert run_cli(example_repo, "hydrate").exit_code == 0
    work = tmp_path / "rendered-work"
    git(example_repo, "worktree", "add", "-q", str(work), "rendered")
    metadata_file = work / "staging" / "hydrator.metadata"
    metadata = json.loads(metadata_file.read_text())
    current = metadata["inputHash"]
    metadata["inputHash"] = "sha256:" + "0" * 64
    metadata["tools"]["toolkit"] = "0.0.1"
    metadata_file.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    commit_all(work, "an older hash")
    git(example_repo, "worktree", "remove", "--force", str(work))
    result = run_cli(example_repo, "hydrate", "--json")
    assert result.exit_code == 0, result.stderr
    assert set(renders_reported(result.stdout)) == {"staging"}
    assert json.loads(show(example_repo, "staging/hydrator.metadata"))["inputHash"] == current


# --- which environments a change reaches: loading only those, following every input ----------


def rehydrate(repo: Path, run_cli: Cli, *args: str) -> CliResult:
    result = run_cli(repo, "hydrate", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return result


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_the_metadata_names_the_environments_an_environment_reads(
    example_repo: Path, run_cli: Cli
) -> None:
    rehydrate(example_repo, run_cli)
    for env in ENVIRONMENTS:
        metadata = json.loads(show(example_repo, f"{env}/hydrator.metadata"))
        assert metadata["inputEnvironments"] == [env]


def configmap(value: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  a: {value}\n"


# How dev comes to read a file in staging's directory: the files written, the edits to dev's
# own files, the file then changed in staging, and where the change shows on the branch.
READS_INTO_STAGING = {
    "a values file": (
        {"overlays/staging/values/shared.yaml": "replicaCount: 2\n"},
        [
            (
                "overlays/dev/releases.yaml",
                "values/api.yaml.j2]\n    set: {replicaCount: 1}",
                "values/api.yaml.j2, ../staging/values/shared.yaml]",
            )
        ],
        {"overlays/staging/values/shared.yaml": "replicaCount: 4\n"},
        ("dev/api/deployment-api.yaml", "replicas: 2", "replicas: 4"),
    ),
    "a template's include": (
        {"overlays/staging/shared.j2": "replicaCount: 2\n"},
        [
            (
                "overlays/dev/values/api.yaml.j2",
                "config:\n",
                "{% include 'overlays/staging/shared.j2' %}\nconfig:\n",
            ),
            ("overlays/dev/releases.yaml", "    set: {replicaCount: 1}\n", ""),
        ],
        {"overlays/staging/shared.j2": "replicaCount: 5\n"},
        ("dev/api/deployment-api.yaml", "replicas: 2", "replicas: 5"),
    ),
    "a kustomize base": (
        {
            "overlays/staging/shared/kustomization.yaml": "resources: [configmap.yaml]\n",
            "overlays/staging/shared/configmap.yaml": configmap("one"),
        },
        [
            (
                "overlays/dev/kustomization.yaml",
                "  - ../base\n",
                "  - ../base\n  - ../staging/shared\n",
            )
        ],
        {"overlays/staging/shared/configmap.yaml": configmap("two")},
        ("dev/kustomize/configmap-shared.yaml", "a: one", "a: two"),
    ),
}


@pytest.mark.parametrize("how", READS_INTO_STAGING)
def test_a_read_in_another_environment_directory_is_followed(
    how: str, example_repo: Path, run_cli: Cli
) -> None:
    """dev reads a file in staging's directory: a change there re-renders dev too, though no
    file of dev's own changed (skipping dev would leave its branch stale)."""
    files, edits, change, (witness, before, after) = READS_INTO_STAGING[how]
    write_files(example_repo, files)
    for path, old, new in edits:
        edit(example_repo / path, old, new)
    commit_all(example_repo, f"dev reads {how} kept in staging")
    rehydrate(example_repo, run_cli)
    metadata = json.loads(show(example_repo, "dev/hydrator.metadata"))
    assert metadata["inputEnvironments"] == ["dev", "staging"]
    assert before in show(example_repo, witness)

    write_files(example_repo, change)
    commit_all(example_repo, f"staging changes {how} (and dev with it)")
    result = rehydrate(example_repo, run_cli)

    assert loaded(result.stdout) == 2
    assert after in show(example_repo, witness)
    assert unchanged(result.stdout, "production")


def test_an_ignored_values_file_is_followed(example_repo: Path, run_cli: Cli) -> None:
    """A file git ignores (a secret decrypted in CI) is read like any other: a change to it
    re-renders its environment though no commit changed."""
    write_files(
        example_repo,
        {".gitignore": "*.local.yaml\n", "overlays/dev/values/api.local.yaml": "replicaCount: 2\n"},
    )
    edit(
        example_repo / "overlays/dev/releases.yaml",
        "values/api.yaml.j2]\n    set: {replicaCount: 1}",
        "values/api.yaml.j2, values/api.local.yaml]",
    )
    commit_all(example_repo, "dev reads an ignored values file")
    rehydrate(example_repo, run_cli)
    assert "replicas: 2" in show(example_repo, "dev/api/deployment-api.yaml")

    (example_repo / "overlays/dev/values/api.local.yaml").write_text("replicaCount: 3\n")
    result = rehydrate(example_repo, run_cli)

    assert loaded(result.stdout) == 1
    assert "replicas: 3" in show(example_repo, "dev/api/deployment-api.yaml")


def test_allow_dirty_loads_the_environment_whose_files_are_uncommitted(
    example_repo: Path, run_cli: Cli
) -> None:
    rehydrate(example_repo, run_cli)
    edit(example_repo / "overlays/staging/values/api.yaml", "maxReplicas: 4", "maxReplicas: 6")
    result = rehydrate(example_repo, run_cli, "--allow-dirty")

    assert loaded(result.stdout) == 1
    assert set(renders_reported(result.stdout)) == {"staging"}
    assert "maxReplicas: 6" in show(example_repo, "staging/api/horizontalpodautoscaler-api.yaml")


def test_a_symlinked_releases_file_is_followed(example_repo: Path, run_cli: Cli) -> None:
    """production shares staging's releases.yaml through a symlink: a change there is a change
    to production, though git sees it only in staging's directory."""
    releases = example_repo / "overlays/production/releases.yaml"
    releases.unlink()
    releases.symlink_to("../staging/releases.yaml")
    assert run_cli(example_repo, "lock", "production").exit_code == 0
    commit_all(example_repo, "production runs staging's releases")
    rehydrate(example_repo, run_cli)
    assert "inputEnvironments" not in json.loads(show(example_repo, "production/hydrator.metadata"))

    edit(
        example_repo / "overlays/staging/releases.yaml",
        "name: api\n",
        "name: api\n    set: {config: {logLevel: error}}\n",
    )
    commit_all(example_repo, "staging and production: api logs errors only")
    result = rehydrate(example_repo, run_cli)

    assert not unchanged(result.stdout, "production")
    assert 'LOG_LEVEL: "error"' in show(example_repo, "production/api/configmap-api.yaml")


def test_a_dirty_render_is_replaced_once_the_files_are_committed_again(
    example_repo: Path, run_cli: Cli
) -> None:
    rehydrate(example_repo, run_cli)
    clean = show(example_repo, "dev/api/configmap-api.yaml")
    values = example_repo / "overlays/dev/values/api.yaml"
    edit(values, "logLevel: debug", "logLevel: trace")
    rehydrate(example_repo, run_cli, "--allow-dirty")
    assert "trace" in show(example_repo, "dev/api/configmap-api.yaml")
    assert "inputEnvironments" not in json.loads(show(example_repo, "dev/hydrator.metadata"))

    git(example_repo, "checkout", "--", ".")
    result = rehydrate(example_repo, run_cli)

    assert loaded(result.stdout) == 1
    assert show(example_repo, "dev/api/configmap-api.yaml") == clean


def test_an_ignored_include_that_disappears_is_followed(example_repo: Path, run_cli: Cli) -> None:
    write_files(
        example_repo,
        {".gitignore": "*.local.j2\n", "overlays/dev/values/extra.local.j2": "replicaCount: 2\n"},
    )
    edit(
        example_repo / "overlays/dev/values/api.yaml.j2",
        "config:\n",
        "{% include 'overlays/dev/values/extra.local.j2' ignore missing %}\nconfig:\n",
    )
    edit(example_repo / "overlays/dev/releases.yaml", "    set: {replicaCount: 1}\n", "")
    commit_all(example_repo, "dev may include an ignored template")
    rehydrate(example_repo, run_cli)
    assert "replicas: 2" in show(example_repo, "dev/api/deployment-api.yaml")

    (example_repo / "overlays/dev/values/extra.local.j2").unlink()
    rehydrate(example_repo, run_cli)

    assert "replicas: 2" not in show(example_repo, "dev/api/deployment-api.yaml")


def test_check_with_no_cache_renders_every_environment(example_repo: Path, run_cli: Cli) -> None:
    rehydrate(example_repo, run_cli)
    result = run_cli(example_repo, "-v", "--no-cache", "hydrate", "--check")
    assert result.exit_code == 0, result.stderr
    # --check's JSON lists what is stale only: the -v lines say what it rendered.
    reported = [line for line in result.stderr.splitlines() if line.endswith(" from the cache")]
    assert sorted(line.split(":")[0] for line in reported) == sorted(ENVIRONMENTS)


def test_a_kustomize_base_above_the_configuration_is_followed(tmp_path: Path, run_cli: Cli) -> None:
    """In a monorepo the base may live outside the configuration: dev is loaded every time
    (no later hydrate can tell from the configuration's paths alone that it is untouched),
    and its hash covers the base."""
    files = {f"gitops/{name}": text for name, text in TINY_FILES.items()}
    files["gitops/overlays/dev/kustomization.yaml"] = (
        "namespace: dev\nresources: [config.yaml, ../../../common/extra]\n"
    )
    files["common/extra/kustomization.yaml"] = "resources: [configmap.yaml]\n"
    files["common/extra/configmap.yaml"] = configmap("one")
    top = make_repo(tmp_path / "monorepo", files, example=False)
    config_root = top / "gitops"
    rehydrate(config_root, run_cli)
    assert "inputEnvironments" not in json.loads(show(top, "dev/hydrator.metadata"))
    assert "inputEnvironments" in json.loads(show(top, "prod/hydrator.metadata"))

    write_files(top, {"common/extra/configmap.yaml": configmap("two")})
    commit_all(top, "the shared base changes")
    result = rehydrate(config_root, run_cli)

    assert loaded(result.stdout) == 1
    assert "a: two" in show(top, "dev/kustomize/configmap-shared.yaml")


def test_render_to_a_directory_vouches_for_nothing(example_repo: Path, run_cli: Cli) -> None:
    """Only hydrate knows whether what it rendered is what the commit holds."""
    out = example_repo.parent / "out"
    assert run_cli(example_repo, "render", "-o", str(out)).exit_code == 0
    metadata = json.loads((out / "dev/hydrator.metadata").read_text())
    assert "inputEnvironments" not in metadata
    assert metadata["drySha"] == git(example_repo, "rev-parse", "HEAD")


def test_an_environment_without_its_lock_is_loaded_every_time(
    example_repo: Path, run_cli: Cli
) -> None:
    """Resolved in memory, dev's charts depend on its repositories, not only on its files."""
    (example_repo / "overlays/dev/releases.lock").unlink()
    commit_all(example_repo, "dev without its lock")
    rehydrate(example_repo, run_cli)
    assert "inputEnvironments" not in json.loads(show(example_repo, "dev/hydrator.metadata"))

    result = rehydrate(example_repo, run_cli)

    assert loaded(result.stdout) == 1
    assert "warning: overlays/dev/releases.lock does not exist" in result.stderr


def test_another_helm_rerenders_every_environment_and_keeps_byte_identical_ones(
    example_repo: Path, run_cli: Cli, helm_tool: tools.Tool, other_helm: tools.Tool
) -> None:
    """The example renders byte for byte the same with helm 3 and 4: a new helm renders every
    release again to see, and then leaves the branch (metadata included) as it was."""
    rehydrate(example_repo, run_cli)
    before = git(example_repo, "rev-parse", "rendered")
    result = rehydrate(example_repo, run_cli)
    assert loaded(result.stdout) == 0

    result = run_cli(example_repo, "--helm", str(other_helm.path), "hydrate", "--tag", "--json")

    assert result.exit_code == 0, result.stderr
    assert loaded(result.stdout) == 3
    assert renders_reported(result.stdout)["dev"] == (3, 1)
    assert git(example_repo, "rev-parse", "rendered") == before
    assert git(example_repo, "tag", "--list") == ""
    for env in ENVIRONMENTS:
        metadata = json.loads(show(example_repo, f"{env}/hydrator.metadata"))
        assert metadata["tools"]["helm"] == helm_tool.version


# --- CI hydration: never backwards, --check, identity, message, shards, branches per env ----


@pytest.fixture
def example_free_repo(tmp_path: Path) -> Path:
    """The tiny two-environment repository, local only (no remote)."""
    files = {"toolkit.yaml": TINY_CONFIG, **tiny_files("x")}
    return make_repo(tmp_path / "tiny", files, example=False)


def tiny_files(value: str, *, envs: tuple[str, ...] = ("dev", "prod")) -> dict[str, str]:
    files: dict[str, str] = {}
    for env in envs:
        files.update(tiny_overlay(env, value))
    return files


def dry_sha(repo: Path, env: str, rev: str = "rendered") -> str:
    value: str = json.loads(show(repo, f"{env}/hydrator.metadata", rev))["drySha"]
    return value


def test_check_is_0_when_fresh_1_after_a_change_and_writes_nothing(
    tiny_remote: Remote, run_cli: Cli
) -> None:
    clone = tiny_remote.clone("ci")
    assert run_cli(clone, "hydrate").exit_code == 0
    state = (git(clone, "for-each-ref"), git(clone, "count-objects", "-v"))
    fresh = run_cli(clone, "hydrate", "--check")
    assert fresh.exit_code == 0, fresh.stderr
    write_files(clone, tiny_overlay("prod", "changed"))
    commit_all(clone, "prod: changed")
    state = (git(clone, "for-each-ref"), git(clone, "count-objects", "-v"))
    stale = run_cli(clone, "hydrate", "--check", "--json")
    assert stale.exit_code == 1
    assert json_result(stale.stdout)["stale"] == ["prod"]
    assert "stale: prod" in stale.stderr and "stale: dev" not in stale.stderr
    assert (git(clone, "for-each-ref"), git(clone, "count-objects", "-v")) == state
    assert git(clone, "status", "--porcelain") == ""


def test_check_against_the_remote(tiny_remote: Remote, run_cli: Cli) -> None:
    clone = tiny_remote.clone("ci")
    assert run_cli(clone, "hydrate", "--check", "--remote", "origin").exit_code == 1
    assert run_cli(clone, "hydrate", "--push").exit_code == 0
    git(clone, "branch", "-q", "-D", "rendered")
    assert run_cli(clone, "hydrate", "--check", "--remote", "origin").exit_code == 0
    # No local branch: the remote-tracking one (origin/rendered, which the push moved) is read.
    assert run_cli(clone, "hydrate", "--check").exit_code == 0
    git(clone, "update-ref", "-d", "refs/remotes/origin/rendered")
    assert run_cli(clone, "hydrate", "--check").exit_code == 1  # neither: all stale


def test_no_git_identity_anywhere_uses_the_default(
    tiny_remote: Remote, run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = tiny_remote.clone("ci")
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("HOME", str(tmp_path / "nobody"))
    for var in ("EMAIL", "GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.delenv(var, raising=False)
    unset = process.run(("git", "config", "--get", "user.name"), cwd=clone, check=False)
    assert unset.returncode == 1, "no identity in any git config"
    result = run_cli(clone, "hydrate", "--push", "--tag")
    assert result.exit_code == 0, result.stderr
    people = git(tiny_remote.bare, "log", "-1", "--format=%an <%ae>|%cn <%ce>", "rendered")
    assert people == "toolkit <toolkit@localhost>|toolkit <toolkit@localhost>"
    tagger = git(tiny_remote.bare, "tag", "-l", "--format=%(taggername) %(taggeremail)", "dev/1")
    assert tagger == "toolkit <toolkit@localhost>"


def test_author_and_committer_flags(example_free_repo: Path, run_cli: Cli) -> None:
    result = run_cli(
        example_free_repo,
        "hydrate",
        "--author",
        "Release Bot <bot@example.com>",
        "--committer",
        "CI <ci@example.com>",
    )
    assert result.exit_code == 0, result.stderr
    people = git(example_free_repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", "rendered")
    assert people == "Release Bot <bot@example.com>|CI <ci@example.com>"
    bad = run_cli(example_free_repo, "hydrate", "--author", "just a name")
    assert bad.exit_code == 2
    assert '--author "just a name" is not "Name <email>"' in bad.stderr


def test_environment_variables_name_the_author(
    example_free_repo: Path, run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Env Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "env@example.com")
    assert run_cli(example_free_repo, "hydrate").exit_code == 0
    people = git(example_free_repo, "log", "-1", "--format=%an <%ae>|%cn", "rendered")
    assert people == "Env Author <env@example.com>|Test User"


def test_a_branch_per_environment(tmp_path: Path, run_cli: Cli) -> None:
    config = 'rendered:\n  branch: "rendered/{env}"\n' + TINY_CONFIG
    repo = make_repo(tmp_path / "r", {"toolkit.yaml": config, **tiny_files("x")}, example=False)
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    result = run_cli(repo, "hydrate", "--push")
    assert result.exit_code == 0, result.stderr
    for env in ("dev", "prod"):
        top = git(bare, "ls-tree", "--name-only", f"rendered/{env}").split()
        assert top == [env]
        assert git(repo, "rev-parse", f"rendered/{env}") == git(
            bare, "rev-parse", f"rendered/{env}"
        )


def test_shards_split_the_environments(tmp_path: Path, run_cli: Cli) -> None:
    config = "environments:\n  - name: dev\n  - name: staging\n  - name: prod\n"
    files = {"toolkit.yaml": config, **tiny_files("x", envs=("dev", "staging", "prod"))}
    repo = make_repo(tmp_path / "r", files, example=False)
    result = run_cli(repo, "hydrate", "--shard", "1/2")
    assert result.exit_code == 0, result.stderr
    assert git(repo, "ls-tree", "--name-only", "rendered").split() == ["dev", "prod"]
    assert run_cli(repo, "hydrate", "--shard", "2/2").exit_code == 0
    assert git(repo, "ls-tree", "--name-only", "rendered").split() == ["dev", "prod", "staging"]
    empty = run_cli(repo, "hydrate", "--shard", "4/4")
    assert empty.exit_code == 0 and "no environments" in empty.stderr
    bad = run_cli(repo, "hydrate", "--shard", "3/2")
    assert bad.exit_code == 2 and "is not K/N" in bad.stderr


def test_check_cannot_push(example_free_repo: Path, run_cli: Cli) -> None:
    result = run_cli(example_free_repo, "hydrate", "--check", "--push")
    assert result.exit_code == 2
    assert "--check writes nothing" in result.stderr


def test_tags_number_each_hydrated_state_and_list_charts_and_images(
    example_repo: Path, run_cli: Cli
) -> None:
    result = run_cli(example_repo, "hydrate", "dev", "--tag")
    assert result.exit_code == 0, result.stderr
    head = git(example_repo, "rev-parse", "HEAD")
    assert git(example_repo, "rev-parse", "dev/1^{commit}") == head
    assert git(example_repo, "cat-file", "-t", "dev/1") == "tag"
    message = git(example_repo, "tag", "-l", "--format=%(contents)", "dev/1")
    assert "api: api 1.4.0" in message
    assert "cert-rotator: cert-rotator 0.6.2" in message
    assert "ghcr.io/example/api:2.9.0-rc.1" in message
    assert f"Toolkit-Source: {head}" in message
    assert run_cli(example_repo, "hydrate", "dev", "--tag").exit_code == 0
    assert git(example_repo, "tag", "-l", "dev/*") == "dev/1", "nothing changed: no new tag"
    values = example_repo / "overlays/dev/values/api.yaml"
    values.write_text(values.read_text() + "\nextraLabel: x\n")
    commit_all(example_repo, "dev: touch api values")
    assert run_cli(example_repo, "hydrate", "dev", "--tag").exit_code == 0
    assert git(example_repo, "tag", "-l", "dev/*").split() == ["dev/1", "dev/2"]
