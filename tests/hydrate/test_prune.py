"""A hydrate never silently empties an environment, a release or the Kustomize output: a renamed
directory, a deleted or misspelt releases.yaml, a release or overlay that renders nothing are
one error (exit 2) and the rendered branch does not move; removing a release from releases.yaml,
or --allow-prune, removes its files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.fixtures.ci import Remote
from tests.helpers import Cli, branch_files, commit_all, git


def hydrated(repo: Path, run_cli: Cli) -> str:
    result = run_cli(repo, "hydrate")
    assert result.exit_code == 0, result.stderr
    return git(repo, "rev-parse", "rendered")


def refused(repo: Path, run_cli: Cli, *args: str) -> str:
    """The one error line of a hydrate that must not write; the branch must not have moved."""
    before = git(repo, "rev-parse", "rendered")
    result = run_cli(repo, "hydrate", *args)
    assert result.exit_code == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    assert git(repo, "rev-parse", "rendered") == before
    return line


def test_renaming_an_environment_directory_is_refused_and_the_branch_stays(
    example_repo: Path, run_cli: Cli
) -> None:
    hydrated(example_repo, run_cli)
    git(example_repo, "mv", "overlays/production", "overlays/prod")
    commit_all(example_repo, "rename production's directory")

    line = refused(example_repo, run_cli)

    assert line.startswith("error: toolkit.yaml:19: environment 'production' has no directory")
    assert "overlays/production/ (renamed or deleted?)" in line
    assert "environments[2].path" in line


def test_deleting_releases_yaml_is_refused_and_the_branch_stays(
    example_repo: Path, run_cli: Cli
) -> None:
    hydrated(example_repo, run_cli)
    (example_repo / "overlays/production/releases.yaml").unlink()
    commit_all(example_repo, "production: no releases.yaml")

    line = refused(example_repo, run_cli)

    assert line.startswith(
        "error: hydrate would remove from branch rendered: environment 'production': "
        "release 'api' (10 files) and release 'cert-rotator' (9 files), "
        "as overlays/production/releases.yaml is missing. Nothing was written: "
    )
    assert line.endswith("or pass --allow-prune to remove it from the rendered branch")


def test_misspelling_releases_yaml_is_refused_with_a_did_you_mean(
    example_repo: Path, run_cli: Cli
) -> None:
    hydrated(example_repo, run_cli)
    git(example_repo, "mv", "overlays/production/releases.yaml", "overlays/production/releases.yml")
    commit_all(example_repo, "production: releases.yml")

    line = refused(example_repo, run_cli)

    assert line == (
        "error: overlays/production/releases.yml: toolkit does not read a file of this name "
        "(did you mean 'releases.yaml'?); rename it to releases.yaml, or move it into a "
        "subdirectory if it is something else"
    )


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("release.yaml", "releases.yaml"),
        ("Releases.yaml", "releases.yaml"),
        ("relases.yaml", "releases.yaml"),
        ("kustomisation.yaml", "kustomization.yaml"),
        ("Kustomization.yaml", "kustomization.yaml"),
        ("kustomization.yaml.j2", "kustomization.yaml"),
    ],
)
def test_a_near_miss_of_a_toolkit_file_is_an_error(
    example_repo: Path, run_cli: Cli, name: str, meant: str
) -> None:
    (example_repo / "overlays/dev" / name).write_text("releases: []\n")
    commit_all(example_repo, f"dev: {name}")

    result = run_cli(example_repo, "render", "dev")

    assert result.exit_code == 2
    assert f"overlays/dev/{name}: toolkit does not read a file of this name" in result.stderr
    assert f"(did you mean '{meant}'?)" in result.stderr


def test_resources_named_like_toolkit_files_are_not_near_misses(
    example_repo: Path, run_cli: Cli
) -> None:
    for name in ("leases.yaml", "kustomization-patch.yaml", "release-notes.md", "values.yaml"):
        (example_repo / "overlays/dev" / name).write_text("a: 1\n")

    assert run_cli(example_repo, "render", "dev").exit_code == 0


def test_two_kustomization_files_are_an_error_naming_both(example_repo: Path, run_cli: Cli) -> None:
    (example_repo / "overlays/dev/Kustomization").write_text("resources: []\n")

    result = run_cli(example_repo, "render", "dev")

    assert result.exit_code == 2
    assert result.stderr == (
        "error: overlays/dev/ has kustomization.yaml and Kustomization: kustomize reads one "
        "kustomization file per directory; keep kustomization.yaml and merge the others into it\n"
    )


def test_removing_a_release_from_releases_yaml_removes_its_files(
    example_repo: Path, run_cli: Cli
) -> None:
    hydrated(example_repo, run_cli)
    releases = example_repo / "overlays/production/releases.yaml"
    data = yaml.safe_load(releases.read_text())
    data["releases"] = [r for r in data["releases"] if r["name"] != "api"]
    releases.write_text(yaml.safe_dump(data, sort_keys=False))
    commit_all(example_repo, "production: api goes")

    hydrated(example_repo, run_cli)

    files = branch_files(example_repo)
    assert not any(f.startswith("production/api/") for f in files)
    assert any(f.startswith("production/cert-rotator/") for f in files)


def test_a_release_still_listed_that_renders_nothing_is_refused(
    example_repo: Path, run_cli: Cli
) -> None:
    hydrated(example_repo, run_cli)
    (example_repo / "charts/cert-rotator/templates").rename(example_repo / "templates-moved")
    (example_repo / "charts/cert-rotator/crds").rename(example_repo / "crds-moved")
    assert run_cli(example_repo, "lock").exit_code == 0  # the chart's content changed
    commit_all(example_repo, "cert-rotator's templates moved away")

    line = refused(example_repo, run_cli)

    assert "environment 'dev': release 'cert-rotator' (" in line
    assert "as it renders nothing" in line
    assert line.count("release 'cert-rotator'") == 3  # dev, staging and production, in one line


def test_an_overlay_that_renders_nothing_is_refused(example_repo: Path, run_cli: Cli) -> None:
    hydrated(example_repo, run_cli)
    (example_repo / "overlays/dev/kustomization.yaml").unlink()
    commit_all(example_repo, "dev: no kustomization")

    line = refused(example_repo, run_cli)

    assert "environment 'dev': the Kustomize output (" in line
    assert "files), as overlays/dev/ has no kustomization any more" in line


def test_allow_prune_removes_what_went(example_repo: Path, run_cli: Cli) -> None:
    hydrated(example_repo, run_cli)
    (example_repo / "overlays/production/releases.yaml").unlink()
    (example_repo / "overlays/production/releases.lock").unlink()
    commit_all(example_repo, "production: Kustomize only")

    result = run_cli(example_repo, "hydrate", "--allow-prune")

    assert result.exit_code == 0, result.stderr
    files = branch_files(example_repo)
    assert not any(f.startswith(("production/api/", "production/cert-rotator/")) for f in files)
    assert any(f.startswith("production/kustomize/") for f in files)


def test_emptying_an_environment_on_purpose_still_needs_allow_prune(
    example_repo: Path, run_cli: Cli
) -> None:
    hydrated(example_repo, run_cli)
    for name in ("releases.yaml", "releases.lock", "kustomization.yaml"):
        (example_repo / "overlays/dev" / name).unlink()
    (example_repo / "overlays/dev/releases.yaml").write_text("releases: []\n")
    commit_all(example_repo, "dev: nothing deployed")

    line = refused(example_repo, run_cli, "--check")

    assert line.startswith("error: hydrate would remove from branch rendered: environment 'dev': ")
    assert "every file (" in line
    assert "as overlays/dev/releases.yaml lists no releases and there is no kustomization" in line
    assert run_cli(example_repo, "hydrate", "--allow-prune").exit_code == 0
    assert [f for f in branch_files(example_repo) if f.startswith("dev/")] == [
        "dev/README.md",
        "dev/hydrator.metadata",
    ]


def test_a_refused_push_moves_nothing_on_the_remote(tiny_remote: Remote, run_cli: Cli) -> None:
    clone = tiny_remote.clone("ci")
    assert run_cli(clone, "hydrate", "--push").exit_code == 0
    pushed = tiny_remote.rendered()
    tiny_remote.commit({"overlays/prod/kustomization.yaml": "resources: []\n"}, "prod: empty")
    clone = tiny_remote.clone("ci-2")

    result = run_cli(clone, "hydrate", "--push")

    assert result.exit_code == 2
    assert "environment 'prod': every file (2), as its renders produce no resources" in (
        result.stderr
    )
    assert tiny_remote.rendered() == pushed
