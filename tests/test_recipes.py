"""The CI and GitOps recipes in docs/recipes/, and the ones `toolkit init` writes, parse, and
every toolkit command in them exists with the flags it is given (checked by asking click for
the command's --help with them); the docs' recipes are init's templates rendered for the
example repository."""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from toolkit import cli
from toolkit.commands import init
from toolkit.config import project

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 has no tomllib
    tomllib = pytest.importorskip("tomli")

PROJECT = Path(__file__).resolve().parents[1]
RECIPES = PROJECT / "docs" / "recipes"


@dataclass(frozen=True)
class Recipes:
    """A config repository and its recipes: the workflow and one environment's applications."""

    root: Path
    github: Path
    argocd: Path
    flux: Path


DOCS = Recipes(
    PROJECT,
    RECIPES / "github-actions.yml",
    RECIPES / "argocd-application.yaml",
    RECIPES / "flux-kustomization.yaml",
)


@pytest.fixture(scope="module", params=["docs", "init"])
def recipes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Recipes:
    """The docs' recipes, and the ones `toolkit init` writes (with --argocd and with --flux)."""
    if request.param == "docs":
        return DOCS
    roots = {}
    for operator in ("argocd", "flux"):
        root = tmp_path_factory.mktemp(f"init-{operator}") / "config"
        result = CliRunner().invoke(cli.main, ["init", str(root), f"--{operator}"])
        assert result.exit_code == 0, result.output
        roots[operator] = root
    return Recipes(
        roots["argocd"],
        roots["argocd"] / init.WORKFLOW,
        roots["argocd"] / "deploy/argocd/production.yaml",
        roots["flux"] / "deploy/flux/production.yaml",
    )


def load(path: Path | str) -> list[Any]:
    return list(yaml.safe_load_all((RECIPES / path).read_text()))


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


def test_ci_recipes_call_real_commands_and_flags(recipes: Recipes) -> None:
    for path in (recipes.github, RECIPES / "gitlab-ci.yml"):
        check_commands(path)


def check_commands(path: Path) -> None:
    (document,) = load(path)
    name = path.name
    commands = toolkit_commands(document)
    assert any(c[:1] == ["hydrate"] and "--push" in c and "--shard" in c for c in commands)
    for args in commands:
        result = CliRunner().invoke(cli.main, [*args, "--help"])
        assert result.exit_code == 0, f"{name}: toolkit {shlex.join(args)}:\n{result.output}"
        assert "Usage:" in result.output


def test_github_actions_hydrates_on_main_with_a_matrix_and_diffs_pull_requests(
    recipes: Recipes,
) -> None:
    (workflow,) = load(recipes.github)
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


def test_argo_cd_and_flux_read_an_environment_of_the_rendered_branch(recipes: Recipes) -> None:
    cfg = project.load_config(recipes.root)
    environments = {e.name for e in cfg.environments}
    (app,) = load(recipes.argocd)
    assert app["apiVersion"] == "argoproj.io/v1alpha1" and app["kind"] == "Application"
    source = app["spec"]["source"]
    assert source["targetRevision"] == cfg.rendered_branch
    assert source["path"] in environments
    assert source["directory"]["recurse"] is True  # files live in <env>/<source>/
    repository, kustomization = load(recipes.flux)
    assert repository["kind"] == "GitRepository"
    assert repository["spec"]["ref"]["branch"] == cfg.rendered_branch
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["spec"]["sourceRef"]["name"] == repository["metadata"]["name"]
    assert kustomization["spec"]["path"].removeprefix("./") in environments


def test_the_docs_recipes_are_the_init_templates_rendered_for_the_example() -> None:
    """One source: what `toolkit init` writes is what the docs show (regenerate the docs with
    init.recipes for project "platform" and the environment production)."""
    cfg = project.load_config(PROJECT)
    for operator, recipe in (("argocd", DOCS.argocd), ("flux", DOCS.flux)):
        files = init.recipes(
            project="platform",
            repo_url="https://git.example.com/platform/config.git",
            branch=cfg.rendered_branch,
            environments=[e.name for e in cfg.environments],
            operator=operator,
        )
        assert files[f"deploy/{operator}/production.yaml"] == recipe.read_text()
        assert files[init.WORKFLOW] == DOCS.github.read_text()


def test_recipes_install_toolkit_by_its_own_distribution_name() -> None:
    """`pip install toolkit` is an unrelated project: every recipe installs gitops-toolkit (the
    name pyproject.toml gives) from the repository, the command staying `toolkit`."""
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "gitops-toolkit"
    assert project["scripts"] == {"toolkit": "toolkit.cli:main"}
    for name, variables in (("github-actions.yml", "env"), ("gitlab-ci.yml", "variables")):
        (document,) = load(name)
        package = document[variables]["TOOLKIT_PACKAGE"]
        assert package.startswith("gitops-toolkit @ git+https://"), name
        installs = [line for line in shell_lines(document) if "pip install" in line]
        assert installs and all(line == 'pip install "$TOOLKIT_PACKAGE"' for line in installs)
