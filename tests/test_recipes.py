"""The CI and GitOps recipes in docs/recipes/, and the ones `toolkit init` writes, parse, and
every toolkit command in them exists with the flags it is given (checked by asking click for
the command's --help with them); the docs' recipes are init's templates rendered for the
example repository."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.helpers import serving
from toolkit import cli
from toolkit.commands import init
from toolkit.config import project
from toolkit.diff import comment, comparison, split
from toolkit.diff.comparison import DiffReport, EnvironmentDiff
from toolkit.manifests import model
from toolkit.manifests.model import Resource

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
    assert project["scripts"] == {"toolkit": "toolkit.__main__:main"}
    for name, variables in (("github-actions.yml", "env"), ("gitlab-ci.yml", "variables")):
        (document,) = load(name)
        package = document[variables]["TOOLKIT_PACKAGE"]
        assert package.startswith("gitops-toolkit @ git+https://"), name
        installs = [line for line in shell_lines(document) if "pip install" in line]
        assert installs and all(line == 'pip install "$TOOLKIT_PACKAGE"' for line in installs)


# --- the sticky comment ---------------------------------------------------------------------


# Who the CI job's token comments as: GitHub's Actions bot, a GitLab project token's bot user.
BOT = {"github": "github-actions[bot]", "gitlab": "project_1_bot"}


@dataclass
class ReviewApi:
    """GitHub's issue comments or GitLab's merge-request notes, as much of either API as the
    recipes call, served on 127.0.0.1; what each request did is recorded."""

    flavour: str  # github | gitlab
    url: str = ""
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)

    def add(self, body: str, who: str) -> int:
        number = len(self.comments) + 1000
        author = (
            {"user": {"login": who}} if self.flavour == "github" else {"author": {"username": who}}
        )
        self.comments[number] = {"id": number, "body": body, **author}
        return number

    def bot_bodies(self) -> dict[int, str]:
        key, name = ("user", "login") if self.flavour == "github" else ("author", "username")
        return {n: c["body"] for n, c in self.comments.items() if c[key][name] == BOT[self.flavour]}


def _api_handler(api: ReviewApi) -> type[http.server.BaseHTTPRequestHandler]:
    listing = {
        "github": "/repos/acme/config/issues/7/comments",
        "gitlab": "/projects/1/merge_requests/7/notes",
    }[api.flavour]
    single = {"github": "/repos/acme/config/issues/comments/", "gitlab": listing + "/"}[api.flavour]

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self, status: int, payload: object = None) -> None:
            data = json.dumps(payload).encode() if payload is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            api.tokens.add(
                self.headers.get("Authorization") or self.headers.get("PRIVATE-TOKEN") or ""
            )
            url = urllib.parse.urlsplit(self.path)
            path = url.path.removeprefix("/api/v4")
            api.requests.append((self.command, path))
            length = int(self.headers.get("Content-Length") or 0)
            sent = json.loads(self.rfile.read(length)) if length else None
            if api.flavour == "gitlab" and path == "/user":
                return self._answer(200, {"username": BOT["gitlab"]})
            if path == listing and self.command == "GET":
                query = urllib.parse.parse_qs(url.query)
                size, page = int(query["per_page"][0]), int(query["page"][0])
                ordered = [api.comments[n] for n in sorted(api.comments)]
                return self._answer(200, ordered[(page - 1) * size : page * size])
            if path == listing and self.command == "POST":
                return self._answer(201, api.comments[api.add(sent["body"], BOT[api.flavour])])
            number = int(path.removeprefix(single)) if path.startswith(single) else -1
            if number not in api.comments:
                return self._answer(404, {"message": "Not Found"})
            if self.command in ("PATCH", "PUT"):
                api.comments[number]["body"] = sent["body"]
                return self._answer(200, api.comments[number])
            if self.command == "DELETE":
                del api.comments[number]
                return self._answer(204)
            return self._answer(405)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    return Handler


@contextlib.contextmanager
def review_api(flavour: str) -> Iterator[ReviewApi]:
    api = ReviewApi(flavour)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _api_handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server):
        yield api


def sticky_script(flavour: str) -> str:
    """The recipe's shell step that posts the comment files."""
    if flavour == "github":
        (workflow,) = load(DOCS.github)
        steps = workflow["jobs"]["rendered-diff"]["steps"]
        scripts = [step["run"] for step in steps if "comment-*.md" in step.get("run", "")]
    else:
        (pipeline,) = load("gitlab-ci.yml")
        scripts = [line for line in pipeline["rendered-diff"]["script"] if "comment-*.md" in line]
    (script,) = scripts
    return str(script)


def post_comments(api: ReviewApi, workdir: Path) -> None:
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(workdir),
        **(
            {
                "GITHUB_API_URL": api.url,
                "GITHUB_REPOSITORY": "acme/config",
                "PR": "7",
                "GH_TOKEN": "t0ken",
            }
            if api.flavour == "github"
            else {
                "CI_API_V4_URL": f"{api.url}/api/v4",
                "CI_PROJECT_ID": "1",
                "CI_MERGE_REQUEST_IID": "7",
                "RENDERED_DIFF_TOKEN": "t0ken",
            }
        ),
    }
    result = subprocess.run(
        ["sh", "-c", sticky_script(api.flavour)],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def split_report(count: int) -> DiffReport:
    changes = comparison.compare(
        {r.id: r for r in _configmaps("old", count)}, {r.id: r for r in _configmaps("new", count)}
    )
    return DiffReport("a" * 40, None, (EnvironmentDiff("dev", changes, "render", "render"),))


def _configmaps(value: str, count: int) -> list[Resource]:
    text = "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\ndata:\n"
        + "".join(f"  k{k}: {value}-{k}\n" for k in range(20))
        for i in range(count)
    )
    return model.parse(text, source="s", namespace="apps", where="test")


@pytest.mark.parametrize("flavour", ["github", "gitlab"])
def test_the_sticky_comment_is_created_once_then_edited_and_trimmed(
    flavour: str, tmp_path: Path
) -> None:
    missing = [tool for tool in ("curl", "jq") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the recipe's {' and '.join(missing)} are not installed")
    out = tmp_path / "rendered-diff"
    with review_api(flavour) as api:
        for n in range(150):  # people's comments, over a page; one quoting the marker
            api.add(comment.MARKER + "\nquoted" if n == 3 else f"comment {n}", "someone")
        people = dict(api.comments)
        first = split.write_comments(out, split_report(60), 6_000)
        post_comments(api, tmp_path)
        assert len(first) > 2
        posted = api.bot_bodies()
        assert sorted(posted.values()) == sorted(path.read_text() for path in first)
        assert api.tokens == {"Bearer t0ken" if flavour == "github" else "t0ken"}

        second = split.write_comments(out, split_report(20), 6_000)
        assert 1 < len(second) < len(first)
        api.requests.clear()
        post_comments(api, tmp_path)
        edited = api.bot_bodies()
        assert list(edited) == list(posted)[: len(second)]  # the same comments, fewer of them
        assert list(edited.values()) == [path.read_text() for path in second]
        assert [method for method, _ in api.requests].count("POST") == 0
        assert {n: c for n, c in api.comments.items() if n in people} == people
