"""The same Helm releases as Kapitan targets: one target per environment, one helm input per
release, with the same chart, values files, release name, namespace, kube and API versions.
Kustomize overlays are left out: Kapitan's kustomize input copies the overlay directory alone,
so an overlay's `../base` cannot resolve, which makes the comparison conservative for toolkit
(toolkit also renders the overlays)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.fleet import Fleet


def write_inventory(fleet: Fleet, helm: Path, inventory: Path) -> None:
    (inventory / "classes").mkdir(parents=True, exist_ok=True)
    targets = inventory / "targets"
    targets.mkdir(parents=True, exist_ok=True)
    for env in fleet.environments:
        compile_items = [
            {
                "output_path": release.name,
                "input_type": "helm",
                "input_paths": [f"charts/{release.chart}"],
                "helm_path": str(helm),
                "helm_values_files": list(release.values),
                "helm_params": {
                    "name": release.name,
                    "namespace": release.namespace,
                    "kube_version": fleet.kube_version,
                    "api_versions": "monitoring.coreos.com/v1",
                },
            }
            for release in fleet.releases
            if release.environment == env
        ]
        target = {"parameters": {"kapitan": {"vars": {"target": env}, "compile": compile_items}}}
        # JSON is YAML: no dumper needed, and the file is byte-stable.
        (targets / f"{env}.yml").write_text(json.dumps(target, indent=2) + "\n")
