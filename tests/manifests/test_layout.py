"""`environments[].path`: repositories laid out as `clusters/<name>/` or `apps/<app>/<env>/`
render, hydrate, lock, promote and diff from there, and reach knows their directories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import (
    Cli,
    branch_files,
    commit_all,
    hydrated_environments,
    json_result,
    make_repo,
    show,
)

CHART = {
    "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.2.0\n",
    "charts/web/values.yaml": "replicas: 1\n",
    "charts/web/templates/deployment.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
        "spec:\n  replicas: {{ .Values.replicas }}\n"
    ),
}


def environment_files(directory: str, env: str, replicas: int) -> dict[str, str]:
    up = "../" * directory.count("/")
    return {
        f"{directory}/kustomization.yaml": f"namespace: {env}\nresources: [../base]\n",
        f"{directory}/releases.yaml": (
            "releases:\n  - name: web\n    namespace: web\n"
            f"    chart: {up}../charts/web\n    version: ^1.0.0\n    values: [values/web.yaml]\n"
        ),
        f"{directory}/values/web.yaml": f"replicas: {replicas}\n",
    }


def layout_repo(root: Path, directories: dict[str, str]) -> Path:
    """Environments (name -> directory) beside a shared base in the directory above them."""
    environments = "".join(
        f"  - name: {name}\n    path: {directory}\n" for name, directory in directories.items()
    )
    base = next(iter(directories.values())).rsplit("/", 1)[0] + "/base"
    files = {
        **CHART,
        "toolkit.yaml": f"environments:\n{environments}promotion:\n  copy: [values/**]\n",
        f"{base}/kustomization.yaml": "resources: [config.yaml]\n",
        f"{base}/config.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {level: info}\n"
        ),
    }
    for index, (name, directory) in enumerate(directories.items()):
        files.update(environment_files(directory, name, index + 1))
    return make_repo(root, files, example=False)


LAYOUTS = {
    "clusters": {"dev": "clusters/dev", "prod": "clusters/prod"},
    "apps": {"dev": "apps/web/dev", "prod": "apps/web/prod"},
}


@pytest.fixture(params=list(LAYOUTS))
def layout(
    request: pytest.FixtureRequest, tmp_path: Path, run_cli: Cli
) -> tuple[Path, dict[str, str]]:
    directories = LAYOUTS[request.param]
    repo = layout_repo(tmp_path / "config", directories)
    assert run_cli(repo, "lock").exit_code == 0
    commit_all(repo, "lock")
    return repo, directories


def test_hydrate_renders_each_environment_from_its_path(
    layout: tuple[Path, dict[str, str]], run_cli: Cli
) -> None:
    repo, directories = layout

    result = run_cli(repo, "hydrate")

    assert result.exit_code == 0, result.stderr
    assert not (repo / "overlays").exists()
    files = branch_files(repo)
    for env, directory in directories.items():
        assert f"{env}/web/deployment-web.yaml" in files
        assert f"{env}/kustomize/configmap-settings.yaml" in files
        metadata = json.loads(show(repo, f"{env}/hydrator.metadata"))
        assert any(c.endswith(f"kustomize {directory}") for c in metadata["commands"])
        assert metadata["inputEnvironments"] == [env]
    assert "replicas: 2" in show(repo, "prod/web/deployment-web.yaml")


def test_lock_writes_each_lock_in_the_environment_path(
    layout: tuple[Path, dict[str, str]],
) -> None:
    repo, directories = layout
    for directory in directories.values():
        assert "version: 1.2.0" in (repo / directory / "releases.lock").read_text()


def test_a_change_in_one_environment_path_loads_that_environment_alone(
    layout: tuple[Path, dict[str, str]], run_cli: Cli
) -> None:
    repo, directories = layout
    assert run_cli(repo, "hydrate").exit_code == 0
    (repo / directories["prod"] / "values/web.yaml").write_text("replicas: 5\n")
    commit_all(repo, "prod: five replicas")

    result = run_cli(repo, "hydrate", "--json")

    assert result.exit_code == 0, result.stderr
    environments = hydrated_environments(result.stdout)
    assert {env: fields["loaded"] for env, fields in environments.items()} == {
        "dev": False,
        "prod": True,
    }
    assert "replicas: 5" in show(repo, "prod/web/deployment-web.yaml")


def test_the_shared_base_beside_the_environments_reaches_both(
    layout: tuple[Path, dict[str, str]], run_cli: Cli
) -> None:
    repo, directories = layout
    assert run_cli(repo, "hydrate").exit_code == 0
    base = repo / directories["dev"] / "../base/config.yaml"
    base.write_text(base.read_text().replace("level: info", "level: debug"))
    commit_all(repo, "debug logging everywhere")

    result = run_cli(repo, "hydrate")

    assert result.exit_code == 0, result.stderr
    for env in directories:
        assert "level: debug" in show(repo, f"{env}/kustomize/configmap-settings.yaml")


def test_promote_and_diff_use_the_environment_paths(
    layout: tuple[Path, dict[str, str]], run_cli: Cli
) -> None:
    repo, directories = layout

    releases = (repo / directories["prod"] / "releases.yaml").read_bytes()

    promoted = run_cli(repo, "promote", "dev", "prod")

    assert promoted.exit_code == 0, promoted.stderr
    assert (repo / directories["prod"] / "values/web.yaml").read_text() == "replicas: 1\n"
    # prod's `^1.0.0` allows dev's 1.2.0: only its lock moves.
    assert (repo / directories["prod"] / "releases.yaml").read_bytes() == releases
    assert "version: 1.2.0\n" in (repo / directories["prod"] / "releases.lock").read_text()
    assert not (repo / "overlays").exists()
    diff = run_cli(repo, "diff", "--base", "HEAD", "--format", "json")
    assert diff.exit_code == 0, diff.stderr
    changes = {e["name"]: e for e in json_result(diff.stdout)["environments"]}
    assert [(r["kind"], r["name"]) for r in changes["prod"]["resources"]] == [("Deployment", "web")]
    assert changes["dev"]["resources"] == []


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            "  - {name: dev, path: /srv/dev}\n",
            "toolkit.yaml:2: environments[0].path '/srv/dev' must name a directory inside",
        ),
        ("  - {name: dev, path: ../dev}\n", "environments[0].path '../dev' must name a directory"),
        ("  - {name: dev, path: .}\n", "environments[0].path '.' must name a directory"),
        (
            "  - {name: dev, path: clusters}\n  - {name: prod, path: clusters/prod}\n",
            "toolkit.yaml:3: environment 'prod' has the directory clusters/prod, and 'dev' has "
            "clusters: environment directories must not be the same or lie inside one another",
        ),
        (
            "  - {name: dev, path: clusters/a/}\n  - {name: prod, path: clusters/a}\n",
            "environment 'prod' has the directory clusters/a, and 'dev' has clusters/a:",
        ),
    ],
)
def test_environment_paths_stay_inside_the_repository_and_apart(
    tmp_path: Path, run_cli: Cli, entries: str, message: str
) -> None:
    repo = make_repo(
        tmp_path / "config", {"toolkit.yaml": f"environments:\n{entries}"}, example=False
    )

    result = run_cli(repo, "render")

    assert result.exit_code == 2
    assert message in result.stderr
