"""Reading SRC from the work tree or a ref, and which files promotion.copy selects."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures.promote import write_locks
from tests.helpers import EXAMPLE_PATHS, PROJECT, Cli, commit_all, git
from toolkit.config import project
from toolkit.infra.errors import InputError
from toolkit.promote.sourcefiles import glob_match, open_source


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("values/common/**", "values/common/api.yaml", True),
        ("values/common/**", "values/common/deep/er/x.json", True),
        ("values/common/**", "values/commonx/api.yaml", False),
        ("values/*.yaml", "values/api.yaml", True),
        ("values/*.yaml", "values/sub/api.yaml", False),
        ("**/*.json", "config/features.json", True),
        ("**/*.json", "features.json", True),
        ("config/web.env", "config/web.env", True),
        ("config/web.env", "config/web.env.bak", False),
    ],
)
def test_glob_match(pattern: str, path: str, matches: bool) -> None:
    assert glob_match(pattern, path) is matches


@pytest.fixture
def nested_repo(tmp_path: Path) -> Path:
    """The example configuration in deploy/ of a larger repository."""
    repo = tmp_path / "mono"
    root = repo / "deploy"
    root.mkdir(parents=True)
    for name in EXAMPLE_PATHS:
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy2(source, root / name)
    (repo / "README.md").write_text("a monorepo\n")
    git(repo, "init", "-q", "-b", "main")
    write_locks(root)
    commit_all(repo, "initial")
    return root


def test_a_config_root_below_the_git_top_level_reads_refs_and_dirt_right(
    nested_repo: Path, run_cli: Cli
) -> None:
    git(nested_repo, "tag", "tested")
    kustomization = nested_repo / "overlays/dev/kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("3.13.0-rc.2", "4.0.0"))
    commit_all(nested_repo, "dev moves on")

    result = run_cli(nested_repo, "promote", "dev", "staging", "--ref", "tested")

    assert result.exit_code == 0, result.stderr
    staging = (nested_repo / "overlays/staging/kustomization.yaml").read_text()
    assert "newTag: 3.13.0-rc.2\n" in staging
    again = run_cli(nested_repo, "promote", "dev", "staging")
    assert again.exit_code == 2
    assert "overlays/staging/ has uncommitted changes" in again.stderr
    assert "    overlays/staging/kustomization.yaml" in again.stderr


def test_a_ref_without_the_environment_is_refused(locked_repo: Path) -> None:
    first = git(locked_repo, "rev-list", "--max-parents=0", "HEAD")
    cfg = project.load_config(locked_repo)
    (locked_repo / "overlays/qa").mkdir()
    with pytest.raises(InputError, match="has no overlays/qa/"):
        open_source(
            cfg, project.Environment("qa", None, (), {}, locked_repo / "overlays/qa"), first
        )


def test_work_tree_source_refuses_a_symlink_leading_outside(
    locked_repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.yaml"
    outside.write_text("token: hunter2\n")
    link = locked_repo / "overlays/dev/values/common/leak.yaml"
    link.symlink_to(outside)
    cfg = project.load_config(locked_repo)
    source = open_source(cfg, cfg.environment("dev"), None)
    with pytest.raises(InputError, match="leads outside the repository"):
        source.read("values/common/leak.yaml")
    assert source.files()["values/common/leak.yaml"] == "120000"
