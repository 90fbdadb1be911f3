"""Kustomize's `helmCharts:` with toolkit's helm: charts fetched by toolkit (its cache and
credentials), the build equal to what `kustomize build --enable-helm` prints, and the source
tree never written to (kustomize itself would pull into `charts/`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.charts.test_subcharts import documents, package, rendered
from tests.fixtures.charts import ChartRepo
from tests.helpers import Cli, git, make_repo, write_tree
from toolkit.infra import process
from toolkit.render import tools


def overlay(repo_url: str, version: str = "1.2.0") -> dict[str, str]:
    kustomization = {
        "resources": ["configmap.yaml"],
        "helmCharts": [
            {
                "name": "greeter",
                "repo": repo_url,
                "version": version,
                "releaseName": "hello",
                "namespace": "web",
                "valuesInline": {"greeting": "from-kustomize"},
            }
        ],
    }
    return {
        "toolkit.yaml": yaml.safe_dump({"environments": [{"name": "dev"}]}),
        "overlays/dev/kustomization.yaml": yaml.safe_dump(kustomization),
        "overlays/dev/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n",
    }


def kustomize_reference(
    helm: tools.Tool, kustomize: tools.Tool, overlay_dir: Path, work: Path
) -> str:
    """The real `kustomize build --enable-helm` in a copy (it pulls into the copy's charts/);
    helm 4 through a shim of the test's own for kustomize's `helm version -c` (kustomize 5.7
    also wants it to be a v3)."""
    copy = work / "overlay"
    shutil.copytree(overlay_dir, copy)
    command = str(helm.path)
    if helm.version.startswith("v4"):
        real = helm.path
        text = f'#!/bin/sh\n[ "$1" = version ] && echo v3.0.0 && exit 0\nexec "{real}" "$@"\n'
        shim = write_tree(work, {"helm": text}) / "helm"
        shim.chmod(0o755)
        command = str(shim)
    args = [*kustomize.command, "--enable-helm", "--helm-command", command, copy]
    return process.run(args).stdout.decode()


def test_helm_charts_render_as_kustomize_prints_them_without_writing_the_source_tree(
    tmp_path: Path,
    run_cli: Cli,
    helm_tool: tools.Tool,
    kustomize_tool: tools.Tool,
    chart_repo: ChartRepo,
) -> None:
    for version in ("1.2.0", "1.3.0"):
        package(helm_tool, tmp_path / "work", "greeter", version, chart_repo.directory)
    chart_repo.reindex()
    root = make_repo(tmp_path / "config", overlay(chart_repo.url), example=False)
    out = tmp_path / "out"
    result = run_cli(root, "render", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    expected = kustomize_reference(helm_tool, kustomize_tool, root / "overlays" / "dev", tmp_path)
    got = documents(rendered(root, out))
    assert got == documents(expected)
    assert got[("ConfigMap", "hello-greeter")]["data"]["greeting"] == "from-kustomize"
    assert not (root / "overlays" / "dev" / "charts").exists()
    assert git(root, "status", "--porcelain") == ""
    # The chart's version is an input of the render: a new one renders anew, from the cache.
    write_tree(root, overlay(chart_repo.url, "1.3.0"))
    result = run_cli(root, "render", "-o", str(tmp_path / "again"))
    assert result.exit_code == 0, result.stderr
    again = documents(rendered(root, tmp_path / "again"))
    assert again[("ConfigMap", "hello-greeter")]["data"]["version"] == "1.3.0"


def test_a_helm_chart_without_a_version_is_refused(
    tmp_path: Path, run_cli: Cli, chart_repo: ChartRepo
) -> None:
    files = overlay(chart_repo.url)
    files["overlays/dev/kustomization.yaml"] = files["overlays/dev/kustomization.yaml"].replace(
        "  version: 1.2.0\n", ""
    )
    root = make_repo(tmp_path / "config", files, example=False)
    result = run_cli(root, "render")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: overlays/dev/kustomization.yaml:")
    assert "helmCharts greeter has no version: pin one" in result.stderr
