"""One environment's directory on the rendered branch: its files, metadata and README and the
source commit they name, as `toolkit hydrate` and `render -o` write them in real repositories."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import yaml

from tests.golden import assert_golden
from tests.helpers import Cli, branch_files, git, show

ENVIRONMENTS = ("dev", "staging", "production")


def test_hydrate_writes_every_environment_one_resource_per_file(
    example_repo: Path, run_cli: Cli
) -> None:
    result = run_cli(example_repo, "hydrate")
    assert result.exit_code == 0, result.stderr
    files = branch_files(example_repo)
    assert {f.split("/", 1)[0] for f in files} == set(ENVIRONMENTS)
    for env in ENVIRONMENTS:
        assert f"{env}/hydrator.metadata" in files and f"{env}/README.md" in files
        manifests = [f for f in files if f.startswith(f"{env}/") and f.endswith(".yaml")]
        for path in manifests:
            documents = list(yaml.safe_load_all(show(example_repo, path)))
            assert len(documents) == 1, path
            kind, name = documents[0]["kind"], documents[0]["metadata"]["name"]
            assert path.split("/")[-1].startswith(f"{kind.lower()}-"), path
            assert name.lower().replace("_", "-") in path
    assert "dev/api/deployment-api.yaml" in files
    assert "dev/kustomize/deployment-web.yaml" in files


def test_metadata_names_the_source_commit_tools_and_releases(
    example_repo: Path, run_cli: Cli
) -> None:
    head = git(example_repo, "rev-parse", "HEAD")
    assert run_cli(example_repo, "hydrate").exit_code == 0
    metadata = json.loads(show(example_repo, "production/hydrator.metadata"))
    assert metadata["drySha"] == head
    assert metadata["repoURL"] == ""
    assert {r["name"]: r["version"] for r in metadata["releases"]} == {
        "api": "1.4.0",
        "cert-rotator": "0.6.2",
    }
    assert all(r["digest"].startswith("sha256:") for r in metadata["releases"])
    assert set(metadata["tools"]) == {"toolkit", "helm", "kustomize"}
    assert any(c.startswith("helm template api charts/api ") for c in metadata["commands"])
    assert "--kube-version 1.33.0" in " ".join(metadata["commands"])
    assert str(example_repo) not in show(example_repo, "production/hydrator.metadata")
    message = git(example_repo, "log", "-1", "--format=%B", "rendered")
    assert f"Toolkit-Source: {head}" in message
    assert "initial configuration" in message
    readme = show(example_repo, "dev/README.md")
    assert "| api | api | api | 1.4.0 |" in readme


def test_same_commit_in_two_clones_gives_the_same_tree(
    example_repo: Path, tmp_path: Path, run_cli: Cli
) -> None:
    clones = []
    for name in ("one", "two"):
        clone = tmp_path / name
        git(tmp_path, "clone", "-q", str(example_repo), str(clone))
        git(clone, "remote", "set-url", "origin", "https://git.example.com/platform/config.git")
        assert run_cli(clone, "hydrate").exit_code == 0
        clones.append(clone)
    trees = {git(c, "rev-parse", "rendered^{tree}") for c in clones}
    assert len(trees) == 1
    metadata = json.loads(show(clones[0], "dev/hydrator.metadata"))
    assert metadata["repoURL"] == "https://git.example.com/platform/config.git"


def test_dirty_work_tree_is_refused(example_repo: Path, run_cli: Cli) -> None:
    values = example_repo / "overlays/dev/values/api.yaml"
    values.write_text(values.read_text() + "\nextra: true\n")
    result = run_cli(example_repo, "hydrate")
    assert result.exit_code == 2
    assert (
        "uncommitted changes" in result.stderr and "overlays/dev/values/api.yaml" in result.stderr
    )
    assert "--allow-dirty" in result.stderr
    assert "Traceback" not in result.stderr
    assert git(example_repo, "branch", "--list", "rendered") == ""


def test_a_hydrate_before_the_first_commit_says_to_commit(example_repo: Path, run_cli: Cli) -> None:
    """HEAD's commit comes with the work tree's status; before the first one there is none, and
    the run says so (exit 4) rather than rendering files no commit holds."""
    shutil.rmtree(example_repo / ".git")
    git(example_repo, "init", "-q")

    result = run_cli(example_repo, "hydrate", "--allow-dirty")

    assert result.exit_code == 4
    assert "has no commits yet: commit the configuration first" in result.stderr
    assert "Traceback" not in result.stderr
    assert git(example_repo, "branch", "--list", "rendered") == ""


def test_render_to_a_directory_writes_the_same_tree(
    example_repo: Path, tmp_path: Path, run_cli: Cli
) -> None:
    assert run_cli(example_repo, "hydrate", "dev").exit_code == 0
    out = tmp_path / "out"
    result = run_cli(example_repo, "render", "dev", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(branch_files(example_repo))
    for path in written:
        if path != "dev/hydrator.metadata":
            assert (out / path).read_text() == show(example_repo, path) + "\n"
    # The same metadata, but for what only hydrate can vouch for (see reach.py).
    committed = json.loads(show(example_repo, "dev/hydrator.metadata"))
    assert committed.pop("inputEnvironments") == ["dev"]
    assert json.loads((out / "dev/hydrator.metadata").read_text()) == committed
    assert git(example_repo, "status", "--porcelain") == ""


def test_the_readme_and_metadata_on_the_branch_are_golden(example_repo: Path, run_cli: Cli) -> None:
    """What a reviewer and Argo CD read, byte for byte; only the source commit, the tool
    versions and the input hash (which names them) vary between runs and helm majors."""
    head = git(example_repo, "rev-parse", "HEAD")
    assert run_cli(example_repo, "hydrate").exit_code == 0
    assert_golden(
        "production-README.md",
        show(example_repo, "production/README.md", exact=True).replace(head, "<head>"),
    )
    recorded = show(example_repo, "production/hydrator.metadata", exact=True).replace(
        head, "<head>"
    )
    recorded = re.sub(
        r'("(?:helm|kustomize|toolkit|inputHash)": )"[^"]+"', r'\1"<varies>"', recorded
    )
    assert_golden("production-hydrator.metadata", recorded)
