"""diff/sides.py: each side taken from the rendered branch where it holds that side's render
current (hydrate's rule), rendered only where not; the report as if everything rendered."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers import (
    commit_all,
    git,
    json_result,
    recording_helm,
    templates_run,
    toolkit_with,
)
from toolkit.render import tools


def toolkit(repo: Path, helm: Path, kustomize: tools.Tool, *args: str) -> str:
    result = toolkit_with(repo, helm, kustomize.path, *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def change_values(repo: Path, env: str, old: str, new: str) -> str:
    values = repo / f"overlays/{env}/values/api.yaml"
    values.write_text(values.read_text().replace(old, new))
    return commit_all(repo, f"{env}: {new}")


def test_a_one_environment_change_renders_that_environment_alone_and_diffs_the_same(
    example_repo: Path,
    tmp_path: Path,
    helm_tool: tools.Tool,
    kustomize_tool: tools.Tool,
    render_cache: Path,
) -> None:
    helm, log = recording_helm(helm_tool.path, tmp_path / "recorder")
    toolkit(example_repo, helm, kustomize_tool, "hydrate")
    change_values(example_repo, "dev", "logLevel: debug", "logLevel: trace")
    shutil.rmtree(render_cache)  # every render the diff needs runs helm
    log.unlink()
    diff = ("diff", "--base", "HEAD~1", "--head", "HEAD")
    report = json_result(toolkit(example_repo, helm, kustomize_tool, *diff, "--format", "json"))
    # dev's two releases, at the head; its base and the other environments, from the branch.
    assert templates_run(log) == ["api", "cert-rotator"]
    assert {e["name"]: (e["baseFrom"], e["headFrom"]) for e in report["environments"]} == {
        "dev": ("rendered branch", "render"),
        "staging": ("rendered branch", "rendered branch"),
        "production": ("rendered branch", "rendered branch"),
    }
    assert [env["name"] for env in report["validation"]] == ["dev"]  # what changed
    with_branch = [
        toolkit(example_repo, helm, kustomize_tool, *diff, "--format", fmt)
        for fmt in ("text", "markdown")
    ]
    assert "configmap" in with_branch[0].lower() and "logLevel: trace" in with_branch[0]
    git(example_repo, "branch", "-D", "rendered")  # now both sides render every environment
    assert with_branch == [
        toolkit(example_repo, helm, kustomize_tool, *diff, "--format", fmt)
        for fmt in ("text", "markdown")
    ]


def test_a_branch_behind_the_base_renders_what_changed_since_and_diffs_right(
    example_repo: Path,
    tmp_path: Path,
    helm_tool: tools.Tool,
    kustomize_tool: tools.Tool,
    render_cache: Path,
) -> None:
    helm, _ = recording_helm(helm_tool.path, tmp_path / "recorder")
    toolkit(example_repo, helm, kustomize_tool, "hydrate")
    # Not hydrated: the branch holds dev from before this commit.
    change_values(example_repo, "dev", "logLevel: debug", "logLevel: trace")
    change_values(example_repo, "production", "logLevel: warn", "logLevel: error")
    diff = ("diff", "--base", "HEAD~1", "--head", "HEAD")
    report = json_result(toolkit(example_repo, helm, kustomize_tool, *diff, "--format", "json"))
    assert {e["name"]: (e["baseFrom"], e["headFrom"]) for e in report["environments"]} == {
        "dev": ("render", "render"),  # its directory changed since the branch's render
        "staging": ("rendered branch", "rendered branch"),
        "production": ("rendered branch", "render"),
    }
    changed = {e["name"]: e["changed"] for e in report["environments"]}
    # dev is the same at both commits: no change shown, though the branch is behind.
    assert (changed["dev"], changed["staging"]) == (0, 0) and changed["production"] > 0
    text = toolkit(example_repo, helm, kustomize_tool, *diff)
    assert "== production ==" in text and "== dev ==" not in text
    git(example_repo, "branch", "-D", "rendered")
    assert text == toolkit(example_repo, helm, kustomize_tool, *diff)
