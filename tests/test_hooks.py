"""Release namespaces and helm hooks on the rendered branch: `createNamespace: true` adds the
release's Namespace (never pruned), helm test hooks are left out unless `includeTests: true`,
and install, upgrade and delete hooks stay as `helm template` prints them."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers import Cli, branch_files, make_repo, show


def pod(name: str, hook: str) -> str:
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n"
        f'  annotations:\n    "helm.sh/hook": {hook}\n'
        "spec:\n  restartPolicy: Never\n  containers: [{name: t, image: busybox}]\n"
    )


MIGRATE = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    "helm.sh/hook": pre-install,pre-upgrade
    "helm.sh/hook-weight": "-5"
    "helm.sh/hook-delete-policy": before-hook-creation,hook-succeeded
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: app/migrate}]
"""
CHART = {
    "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
    "charts/app/templates/service.yaml": (
        "apiVersion: v1\nkind: Service\nmetadata: {name: app}\nspec: {ports: [{port: 80}]}\n"
    ),
    "charts/app/templates/migrate.yaml": MIGRATE,
    "charts/app/templates/cleanup.yaml": pod("cleanup", "post-delete"),
    "charts/app/templates/tests/test-connection.yaml": pod("app-test", "test"),
    "charts/app/templates/tests/legacy.yaml": pod("app-test-success", "test-success"),
    "charts/app/templates/tests/failure.yaml": pod("app-test-failure", "test-failure"),
}
NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n  labels: {team: web}\n"


def repository(root: Path, *releases: str, kustomize: bool = False) -> Path:
    files = {
        **CHART,
        "toolkit.yaml": "environments: [{name: dev}]\n",
        "overlays/dev/releases.yaml": "releases:\n" + "".join(releases),
    }
    if kustomize:
        files["overlays/dev/kustomization.yaml"] = "resources: [namespace.yaml]\n"
        files["overlays/dev/namespace.yaml"] = NAMESPACE
    return make_repo(root, files, example=False)


def release(name: str, namespace: str, extra: str = "") -> str:
    return f"  - {{name: {name}, namespace: {namespace}, chart: ../../charts/app{extra}}}\n"


def hydrated_files(repo: Path, run_cli: Cli) -> list[str]:
    result = run_cli(repo, "hydrate")
    assert result.exit_code == 0, result.stderr
    return [f for f in branch_files(repo) if f.endswith(".yaml")]


def test_helm_test_hooks_are_left_out_by_default(tmp_path: Path, run_cli: Cli) -> None:
    repo = repository(tmp_path / "config", release("app", "app"))

    files = hydrated_files(repo, run_cli)

    assert files == [
        "dev/app/job-migrate.yaml",
        "dev/app/pod-cleanup.yaml",
        "dev/app/service-app.yaml",
    ]
    assert "--skip-tests" in show(repo, "dev/hydrator.metadata")


def test_include_tests_keeps_the_test_hooks_helm_knows(tmp_path: Path, run_cli: Cli) -> None:
    repo = repository(tmp_path / "config", release("app", "app", ", includeTests: true"))

    files = hydrated_files(repo, run_cli)

    # test-failure is a Helm 2 hook that helm 3 and 4 drop from every render themselves.
    assert "dev/app/pod-app-test.yaml" in files
    assert "dev/app/pod-app-test-success.yaml" in files
    assert "dev/app/pod-app-test-failure.yaml" not in files
    assert yaml.safe_load(show(repo, "dev/app/pod-app-test.yaml"))["metadata"]["annotations"] == {
        "helm.sh/hook": "test"
    }


def test_install_upgrade_and_delete_hooks_stay_with_their_annotations(
    tmp_path: Path, run_cli: Cli
) -> None:
    repo = repository(tmp_path / "config", release("app", "app"))

    hydrated_files(repo, run_cli)

    job = yaml.safe_load(show(repo, "dev/app/job-migrate.yaml"))
    assert job["metadata"] == {
        **yaml.safe_load(MIGRATE)["metadata"],
        "namespace": "app",
    }
    cleanup = yaml.safe_load(show(repo, "dev/app/pod-cleanup.yaml"))
    assert cleanup["metadata"]["annotations"] == {"helm.sh/hook": "post-delete"}


def test_create_namespace_adds_the_release_namespace_never_pruned(
    tmp_path: Path, run_cli: Cli
) -> None:
    repo = repository(
        tmp_path / "config",
        release("app", "app", ", createNamespace: true"),
        release("other", "other"),
    )

    files = hydrated_files(repo, run_cli)

    assert "dev/app/namespace-app.yaml" in files
    assert not any("namespace-other" in f for f in files)
    assert show(repo, "dev/app/namespace-app.yaml") == (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n  annotations:\n"
        "    argocd.argoproj.io/sync-options: Prune=false\n"
        "    kustomize.toolkit.fluxcd.io/prune: disabled"
    )
    assert '"createNamespace": true' in show(repo, "dev/hydrator.metadata")


def test_create_namespace_adds_a_namespace_once_and_not_over_another_source(
    tmp_path: Path, run_cli: Cli
) -> None:
    repo = repository(
        tmp_path / "config",
        release("first", "shared", ", createNamespace: true"),
        release("second", "shared", ", createNamespace: true"),
        release("web", "web", ", createNamespace: true"),
        kustomize=True,
    )

    files = hydrated_files(repo, run_cli)

    namespaces = [f for f in files if "/namespace-" in f]
    assert namespaces == ["dev/first/namespace-shared.yaml", "dev/kustomize/namespace-web.yaml"]
    assert "team: web" in show(repo, "dev/kustomize/namespace-web.yaml")


def test_create_namespace_takes_true_or_false(tmp_path: Path, run_cli: Cli) -> None:
    repo = repository(tmp_path / "config", release("app", "app", ", createNamespace: yes please"))

    result = run_cli(repo, "render")

    assert result.exit_code == 2
    assert result.stderr == (
        "error: overlays/dev/releases.yaml:2: release 'app': createNamespace must be true or "
        "false, found 'yes please'\n"
    )
