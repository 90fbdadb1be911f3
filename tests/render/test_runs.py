"""toolkit's renders equal what helm template and kustomize build print for the same inputs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import Cli, git
from toolkit.config import project, releases
from toolkit.infra import process
from toolkit.infra.errors import RenderError
from toolkit.render import runs, tools, values


def _key(doc: dict[str, Any]) -> tuple[str, str, str]:
    return (doc["apiVersion"], doc["kind"], doc["metadata"]["name"])


def _documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def _reference_render(
    repo: Path, env_name: str, helm: tools.Tool, kustomize: tools.Tool, tmp_path: Path
) -> dict[str, list[dict[str, Any]]]:
    """What the tools print when run by hand, per source."""
    cfg = project.load_config(repo)
    spec = releases.load_environment(cfg, cfg.environment(env_name))
    env = spec.environment
    printed: dict[str, list[dict[str, Any]]] = {}
    for release in spec.releases:
        assert isinstance(release.chart, releases.LocalChart)
        values_file = tmp_path / f"{env_name}-{release.name}.yaml"
        merged = values.merged_values(release, env, root=repo).values
        values_file.write_text(yaml.safe_dump(merged))
        args = [
            str(helm.path),
            "template",
            release.name,
            str(release.chart.path),
            "--namespace",
            release.namespace,
            "--include-crds",
            "-f",
            str(values_file),
        ]
        if env.kube_version:
            args += ["--kube-version", env.kube_version]
        for api in env.api_versions:
            args += ["--api-versions", api]
        printed[release.name] = _documents(process.run(args).stdout.decode())
    if spec.kustomization:
        output = process.run((*kustomize.command, str(spec.kustomization)))
        printed["kustomize"] = _documents(output.stdout.decode())
    return printed


@pytest.mark.parametrize("env_name", ["dev", "staging", "production"])
def test_branch_documents_equal_helm_and_kustomize_output(
    example_repo: Path,
    run_cli: Cli,
    helm_tool: tools.Tool,
    kustomize_tool: tools.Tool,
    tmp_path: Path,
    env_name: str,
) -> None:
    assert run_cli(example_repo, "hydrate", env_name).exit_code == 0
    expected = _reference_render(example_repo, env_name, helm_tool, kustomize_tool, tmp_path)
    cfg = project.load_config(example_repo)
    spec = releases.load_environment(cfg, cfg.environment(env_name))
    namespaces = {r.name: r.namespace for r in spec.releases}
    listing = git(example_repo, "ls-tree", "-r", "--name-only", "rendered", f"{env_name}/")
    for source, documents in expected.items():
        reference = {_key(d): d for d in documents}
        on_branch = [
            yaml.safe_load(git(example_repo, "show", f"rendered:{path}"))
            for path in listing.splitlines()
            if path.startswith(f"{env_name}/{source}/")
        ]
        assert sorted(map(_key, on_branch)) == sorted(reference), source
        filled = 0
        for doc in on_branch:
            twin = reference[_key(doc)]
            if source in namespaces and "namespace" not in twin["metadata"]:
                # What toolkit fills in, as helm install would; take it out and compare the rest.
                namespace = doc["metadata"].pop("namespace", None)
                assert namespace in (namespaces[source], None)
                filled += namespace is not None
            assert doc == twin, f"{source}: {_key(doc)}"
        if source in namespaces:
            assert filled > 0, f"{source}: the chart leaves namespace out of some resources"


def test_kube_version_reaches_helm(example_repo: Path, run_cli: Cli) -> None:
    """production sets kubeVersion 1.33.0: the api chart's >=1.31 branch must show."""
    assert run_cli(example_repo, "hydrate").exit_code == 0
    production = git(example_repo, "show", "rendered:production/api/service-api.yaml")
    dev = git(example_repo, "show", "rendered:dev/api/service-api.yaml")
    assert "trafficDistribution" in production
    assert "trafficDistribution" not in dev


def test_helm_hooks_and_crds_are_rendered(example_repo: Path, run_cli: Cli) -> None:
    assert run_cli(example_repo, "hydrate", "dev").exit_code == 0
    files = git(example_repo, "ls-tree", "-r", "--name-only", "rendered").splitlines()
    job = yaml.safe_load(
        git(example_repo, "show", "rendered:dev/cert-rotator/job-cert-rotator-preflight.yaml")
    )
    assert "helm.sh/hook" in job["metadata"]["annotations"]
    assert any("customresourcedefinition-" in f for f in files)
    cluster_policy = next(f for f in files if "clusterrotationpolicy-" in f)
    assert (
        "namespace"
        not in yaml.safe_load(git(example_repo, "show", f"rendered:{cluster_policy}"))["metadata"]
    )


def test_renders_run_in_parallel_and_fail_with_the_tools_stderr(
    example_repo: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool
) -> None:
    cfg = project.load_config(example_repo)
    env = cfg.environment("dev")
    spec = releases.load_environment(cfg, env)
    release = spec.releases[0]
    good = runs.HelmRender(
        env, release, release.chart.path, {"config": {"environment": "x"}}, "sha256:x"
    )  # type: ignore[union-attr]
    bad = runs.HelmRender(env, release, release.chart.path, {}, "sha256:x")  # type: ignore[union-attr]
    outputs = runs.render_all([good, good], helm=helm_tool, kustomize=kustomize_tool, parallel=2)
    assert outputs[0].text == outputs[1].text
    with pytest.raises(RenderError) as caught:
        runs.render_all([good, bad], helm=helm_tool, kustomize=kustomize_tool, parallel=2)
    message = str(caught.value)
    assert "environment dev, release api" in message
    assert "helm template failed" in message and "config.environment" in message


def test_values_go_to_helm_as_json_on_stdin(example_repo: Path) -> None:
    cfg = project.load_config(example_repo)
    env = cfg.environment("dev")
    spec = releases.load_environment(cfg, env)
    job = runs.HelmRender(
        env, spec.releases[0], Path("chart"), {"b": 1, "a": {"c": [1, 2]}}, "sha256:x"
    )
    assert json.loads(runs.helm_values_input(job)) == {"a": {"c": [1, 2]}, "b": 1}
    assert runs.helm_values_input(job) == b'{"a": {"c": [1, 2]}, "b": 1}'


def test_renders_run_without_go_garbage_collection_unless_the_user_set_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def seen() -> str:
        with runs.go_runtime_defaults():
            return process.run(("sh", "-c", 'echo "$GOGC $GOMEMLIMIT"')).stdout.decode()

    monkeypatch.delenv("GOGC", raising=False)
    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    assert seen() == "off 64MiB\n"
    assert "GOGC" not in os.environ and "GOMEMLIMIT" not in os.environ  # as it was after

    # The user's choice stands whole: the collector off without its limit would never run.
    monkeypatch.setenv("GOMEMLIMIT", "off")
    assert seen() == " off\n"
    monkeypatch.setenv("GOGC", "200")
    monkeypatch.delenv("GOMEMLIMIT")
    assert seen() == "200 \n"
