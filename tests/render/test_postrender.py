"""Post-render patches: a release's `patches:` applied by the real kustomize, equal to what
kustomize prints for helm's output with the same patches, in the render cache key."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.charts.test_subcharts import documents, rendered
from tests.helpers import Cli, commit_all, make_repo, write_tree
from toolkit.infra import process
from toolkit.render import tools

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  labels: {app: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-web
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""
REPLICAS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: anything
spec:
  replicas: 3
"""
JSON_PATCH = """\
- op: add
  path: /metadata/annotations
  value: {team: platform}
"""


def files(replicas: str = REPLICAS) -> dict[str, str]:
    patches = [
        {"path": "patches/replicas.yaml", "target": {"kind": "Deployment"}},
        {"patch": JSON_PATCH, "target": {"kind": "Service", "name": "app-web"}},
    ]
    release = {"name": "app", "namespace": "demo", "chart": "../../charts/web", "patches": patches}
    return {
        "toolkit.yaml": "environments: [{name: dev}]\n",
        "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n",
        "charts/web/templates/web.yaml": DEPLOYMENT,
        "overlays/dev/releases.yaml": yaml.safe_dump({"releases": [release]}, sort_keys=False),
        "overlays/dev/patches/replicas.yaml": replicas,
    }


def kustomize_reference(helm: tools.Tool, kustomize: tools.Tool, root: Path, work: Path) -> str:
    """helm template, then kustomize build of a kustomization with the same patches (by path)."""
    args = ["template", "app", root / "charts" / "web", "--namespace", "demo", "--include-crds"]
    output = process.run([helm.path, *args, "--skip-tests"]).stdout.decode()
    kustomization = {
        "resources": ["helm.yaml"],
        "patches": [
            {"path": "replicas.yaml", "target": {"kind": "Deployment"}},
            {"patch": JSON_PATCH, "target": {"kind": "Service", "name": "app-web"}},
        ],
    }
    write_tree(
        work,
        {
            "helm.yaml": output,
            "replicas.yaml": REPLICAS,
            "kustomization.yaml": yaml.safe_dump(kustomization),
        },
    )
    return process.run([*kustomize.command, work]).stdout.decode()


def test_a_patched_release_renders_as_kustomize_prints_it(
    tmp_path: Path, run_cli: Cli, helm_tool: tools.Tool, kustomize_tool: tools.Tool
) -> None:
    root = make_repo(tmp_path / "config", files(), example=False)
    out = tmp_path / "out"
    result = run_cli(root, "render", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    expected = kustomize_reference(helm_tool, kustomize_tool, root, tmp_path / "reference")
    got = documents(rendered(root, out))
    assert got == documents(expected)
    assert got[("Deployment", "app-web")]["spec"]["replicas"] == 3
    assert got[("Service", "app-web")]["metadata"]["annotations"] == {"team": "platform"}
    # A change to a patch file changes the output (it is in the render cache key).
    write_tree(root, {"overlays/dev/patches/replicas.yaml": REPLICAS.replace("3", "5")})
    commit_all(root, "five")
    result = run_cli(root, "render", "-o", str(tmp_path / "again"))
    assert result.exit_code == 0, result.stderr
    again = documents(rendered(root, tmp_path / "again"))
    assert again[("Deployment", "app-web")]["spec"]["replicas"] == 5


def test_a_patch_that_does_not_apply_is_a_renderer_error(tmp_path: Path, run_cli: Cli) -> None:
    bad = "- op: replace\n  path: /spec/nothing/here\n  value: 1\n"
    root = make_repo(
        tmp_path / "config",
        files() | {"overlays/dev/patches/replicas.yaml": bad},
        example=False,
    )
    result = run_cli(root, "render")
    assert result.exit_code == 3
    assert "release app" in result.stderr
    assert "the release's patches did not apply (kustomize build)" in result.stderr
    assert str(tmp_path) not in result.stderr and "Traceback" not in result.stderr
