"""The CI and GitOps recipes in docs/recipes/ parse, and every toolkit command in them exists
with the flags it is given (checked by asking click for the command's --help with them)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from toolkit import cli, config

PROJECT = Path(__file__).resolve().parents[1]
RECIPES = PROJECT / "docs" / "recipes"


# Commands of DESIGN.md's public surface that other work is still building: the recipes may
# name them before they exist. Remove a name once its command is merged.
def load(name: str) -> list[Any]:
    return list(yaml.safe_load_all((RECIPES / name).read_text()))


def shell_lines(node: Any) -> Iterator[str]:
    """Every string under a `run:` (GitHub) or `script:`/`before_script:` (GitLab) key."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("run", "script", "before_script", "after_script"):
                for item in value if isinstance(value, list) else [value]:
                    yield from str(item).splitlines()
            else:
                yield from shell_lines(value)
    elif isinstance(node, list):
        for item in node:
            yield from shell_lines(item)


def toolkit_commands(document: Any) -> list[list[str]]:
    commands = []
    for line in shell_lines(document):
        line = re.sub(r"\$\{\{[^}]*\}\}", "1", line)  # GitHub expressions
        line = re.sub(r"\$\{?[A-Z_]+\}?", "1", line)  # shell and GitLab variables
        words = shlex.split(line.split(" > ")[0], comments=True)
        if words[:1] == ["toolkit"]:
            commands.append(words[1:])
    return commands


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_ci_recipes_call_real_commands_and_flags(name: str) -> None:
    (document,) = load(name)
    commands = toolkit_commands(document)
    assert any(c[:1] == ["hydrate"] and "--push" in c and "--shard" in c for c in commands)
    for args in commands:
        result = CliRunner().invoke(cli.main, [*args, "--help"])
        assert result.exit_code == 0, f"{name}: toolkit {shlex.join(args)}:\n{result.output}"
        assert "Usage:" in result.output


def test_github_actions_hydrates_on_main_with_a_matrix_and_diffs_pull_requests() -> None:
    (workflow,) = load("github-actions.yml")
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["push"]["branches"] == ["main"] and "pull_request" in triggers
    hydrate = workflow["jobs"]["hydrate"]
    shards = hydrate["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1))
    assert hydrate["permissions"]["contents"] == "write"
    assert any(f"/{len(shards)}" in line for line in shell_lines(hydrate))


def test_gitlab_ci_shards_by_node_index() -> None:
    (pipeline,) = load("gitlab-ci.yml")
    assert pipeline["hydrate"]["parallel"] == 3
    assert any("${CI_NODE_INDEX}/${CI_NODE_TOTAL}" in s for s in pipeline["hydrate"]["script"])


def test_argo_cd_and_flux_read_an_environment_of_the_rendered_branch() -> None:
    cfg = config.load_config(PROJECT)
    environments = {e.name for e in cfg.environments}
    (app,) = load("argocd-application.yaml")
    assert app["apiVersion"] == "argoproj.io/v1alpha1" and app["kind"] == "Application"
    source = app["spec"]["source"]
    assert source["targetRevision"] == cfg.rendered_branch
    assert source["path"] in environments
    assert source["directory"]["recurse"] is True  # files live in <env>/<source>/
    repository, kustomization = load("flux-kustomization.yaml")
    assert repository["kind"] == "GitRepository"
    assert repository["spec"]["ref"]["branch"] == cfg.rendered_branch
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["spec"]["sourceRef"]["name"] == repository["metadata"]["name"]
    assert kustomization["spec"]["path"].removeprefix("./") in environments
