"""`toolkit init`: a new repository that hydrates at once, a chart from the real `helm create`,
an existing layout adopted with --from, and never a file written over."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from tests.helpers import Cli, branch_files, commit_all, git, make_repo, show
from toolkit import cli
from toolkit.infra import process
from toolkit.render import tools


def init(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.main, ["init", *args])
    return result.exit_code, result.stderr


def files_under(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    )


def test_init_in_an_empty_directory_then_commit_then_hydrate_makes_a_rendered_branch(
    tmp_path: Path, run_cli: Cli
) -> None:
    root = tmp_path / "platform"

    code, stderr = init(str(root))

    assert code == 0, stderr
    assert files_under(root) == [
        ".github/workflows/rendered.yml",
        "deploy/argocd/production.yaml",
        "deploy/argocd/staging.yaml",
        "overlays/base/kustomization.yaml",
        "overlays/base/settings.yaml",
        "overlays/production/kustomization.yaml",
        "overlays/production/namespace.yaml",
        "overlays/staging/kustomization.yaml",
        "overlays/staging/namespace.yaml",
        "toolkit.yaml",
    ]
    assert "next: cd " in stderr and "git init && git add -A && git commit" in stderr
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "toolkit init")

    result = run_cli(root, "hydrate")

    assert result.exit_code == 0, result.stderr
    assert git(root, "rev-parse", "--verify", "-q", "rendered")
    assert [f for f in branch_files(root) if f.endswith(".yaml")] == [
        "production/kustomize/configmap-settings.yaml",
        "production/kustomize/namespace-platform.yaml",
        "staging/kustomize/configmap-settings.yaml",
        "staging/kustomize/namespace-platform.yaml",
    ]
    assert "environment: staging" in show(root, "staging/kustomize/configmap-settings.yaml")


def test_init_pins_the_build_toolkit_provisions_for_the_helm_it_finds(
    tmp_path: Path, helm_tool: tools.Tool
) -> None:
    code, _ = init(str(tmp_path / "config"))

    assert code == 0
    pins = yaml.safe_load((tmp_path / "config/toolkit.yaml").read_text())["tools"]
    major = helm_tool.version.removeprefix("v").split(".")[0]
    assert (
        pins
        == {
            "3": {"helm": "3.18.0", "kustomize": "5.6.0"},
            "4": {"helm": "4.1.4", "kustomize": "5.7.1"},
        }[major]
    )


def test_init_with_a_chart_takes_it_from_helm_create_and_locks_it(
    tmp_path: Path, run_cli: Cli, helm_tool: tools.Tool
) -> None:
    root = tmp_path / "config"

    code, stderr = init(str(root), "--chart", "web")

    assert code == 0, stderr
    created = tmp_path / "web"
    process.run((str(helm_tool.path), "create", str(created)))
    assert files_under(root / "charts/web") == files_under(created)
    for name in files_under(created):
        assert (root / "charts/web" / name).read_bytes() == (created / name).read_bytes()
    lock = yaml.safe_load((root / "overlays/staging/releases.lock").read_text())
    assert lock["releases"]["web"]["version"] == "0.1.0"
    make_repo(root, example=False)

    result = run_cli(root, "--locked", "hydrate")

    assert result.exit_code == 0, result.stderr
    files = branch_files(root)
    assert "production/web/deployment-web.yaml" in files
    assert "production/web/namespace-web.yaml" in files  # createNamespace: true
    assert not any("test-connection" in f for f in files)  # a test hook: left out
    assert "replicas: 2" in show(root, "production/web/deployment-web.yaml")


def test_init_writes_a_flux_kustomization_per_environment(tmp_path: Path) -> None:
    root = tmp_path / "config"

    code, _ = init(str(root), "--flux")

    assert code == 0
    repository, kustomization = yaml.safe_load_all((root / "deploy/flux/staging.yaml").read_text())
    assert repository["spec"]["ref"] == {"branch": "rendered"}
    assert kustomization["spec"]["path"] == "./staging"
    assert not (root / "deploy/argocd").exists()


def test_init_refuses_to_write_over_any_file(tmp_path: Path) -> None:
    root = tmp_path / "config"
    (root / "overlays/staging").mkdir(parents=True)
    (root / "overlays/staging/kustomization.yaml").write_text("resources: []\n")
    (root / "toolkit.yaml").write_text("# mine\n")

    code, stderr = init(str(root), "--chart", "web")

    assert code == 2
    assert stderr == (
        f"error: toolkit init would overwrite overlays/staging/kustomization.yaml, toolkit.yaml "
        f"in {root}; nothing was written: move them away, or run init in another directory\n"
    )
    assert files_under(root) == ["overlays/staging/kustomization.yaml", "toolkit.yaml"]
    assert (root / "toolkit.yaml").read_text() == "# mine\n"


CLUSTERS = {
    "clusters/base/kustomization.yaml": "resources: [config.yaml]\n",
    "clusters/base/config.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {level: info}\n"
    ),
    "clusters/components/debug/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
        "commonLabels: {debug: 'true'}\n"
    ),
    "clusters/eu-prod/kustomization.yaml": "resources: [../base]\nnamespace: eu\n",
    "clusters/staging/kustomization.yaml": (
        "resources: [../base]\ncomponents: [../components/debug]\nnamespace: staging\n"
    ),
    "charts/api/Chart.yaml": "apiVersion: v2\nname: api\nversion: 1.0.0\n",
    "charts/api/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: api}\n",
}


def test_init_from_adopts_the_kustomize_layout_there(tmp_path: Path, run_cli: Cli) -> None:
    root = make_repo(tmp_path / "config", CLUSTERS, example=False)
    git(root, "remote", "add", "origin", "https://ci:s3cret@git.example.com/team/config.git")

    code, stderr = init(str(root), "--from")

    assert code == 0, stderr
    config = yaml.safe_load((root / "toolkit.yaml").read_text())
    assert config["environments"] == [
        {"name": "staging", "path": "clusters/staging"},
        {"name": "eu-prod", "path": "clusters/eu-prod"},
    ]
    assert "charts found: charts/api" in stderr
    assert "in the order toolkit promotes them (check it)" in stderr
    app = yaml.safe_load((root / "deploy/argocd/eu-prod.yaml").read_text())
    assert app["spec"]["source"]["repoURL"] == "https://git.example.com/team/config.git"
    commit_all(root, "toolkit init --from")

    result = run_cli(root, "hydrate")

    assert result.exit_code == 0, result.stderr
    assert "eu-prod/kustomize/configmap-settings.yaml" in branch_files(root)


def test_init_from_names_environments_by_app_where_directory_names_repeat(
    tmp_path: Path,
) -> None:
    files = {
        f"apps/{app}/{env}/kustomization.yaml": "resources: [../base]\n"
        for app in ("api", "web")
        for env in ("dev", "prod")
    }
    files.update(
        {f"apps/{app}/base/kustomization.yaml": "resources: []\n" for app in ("api", "web")}
    )
    files["overlays/qa/releases.yaml"] = "releases: []\n"
    root = make_repo(tmp_path / "config", files, example=False)

    code, stderr = init(str(root), "--from")

    assert code == 0, stderr
    config = yaml.safe_load((root / "toolkit.yaml").read_text())
    assert config["environments"] == [
        {"name": "api-dev", "path": "apps/api/dev"},
        {"name": "web-dev", "path": "apps/web/dev"},
        {"name": "qa"},  # overlays/qa is where toolkit looks anyway
        {"name": "api-prod", "path": "apps/api/prod"},
        {"name": "web-prod", "path": "apps/web/prod"},
    ]


def test_init_from_a_directory_without_environments_is_an_error(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "config", {"README.md": "# nothing here\n"}, example=False)

    code, stderr = init(str(root), "--from")

    assert code == 2
    assert "found no environment to adopt in" in stderr
    assert files_under(root) == ["README.md"]
