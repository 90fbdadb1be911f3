"""toolkit.validate.crds: custom resources checked as the API server checks them."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Cli, json_result, make_repo

# kube-prometheus-stack's PrometheusRule CRD has `^(?i)(abort|warn)?$`: Go's RE2 syntax, which
# draft 4's ECMA 262 patterns refuse (the whole schema used to fail to compile: a traceback).
PATTERNED = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: rules.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Rule, plural: rules}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                strategy: {type: string, pattern: "^(?i)(abort|warn)?$"}
    - name: v2
      served: true
      storage: false
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: string, pattern: "(unclosed"}
"""
RULES = """\
apiVersion: example.com/v1
kind: Rule
metadata: {name: upper, namespace: default}
spec: {strategy: ABORT}
---
apiVersion: example.com/v1
kind: Rule
metadata: {name: other, namespace: default}
spec: {strategy: retry}
---
apiVersion: example.com/v2
kind: Rule
metadata: {name: unusable, namespace: default}
spec: anything
"""


def test_crd_patterns_are_go_regular_expressions_and_a_broken_schema_is_one_warning(
    run_cli: Cli, tmp_path: Path
) -> None:
    files = {
        "toolkit.yaml": 'environments:\n  - name: dev\n    kubeVersion: "1.33.0"\n',
        "overlays/dev/kustomization.yaml": "resources: [crd.yaml, rules.yaml]\n",
        "overlays/dev/crd.yaml": PATTERNED,
        "overlays/dev/rules.yaml": RULES,
    }
    repo = make_repo(tmp_path / "config", files, example=False)
    result = run_cli(repo, "validate", "--json")
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr
    findings = json_result(result.stdout)["environments"][0]["findings"]
    assert [(f["resource"], f["severity"], f["message"]) for f in findings] == [
        (
            "Rule.example.com default/other",
            "error",
            "spec.strategy: does not match the pattern ^(?i)(abort|warn)?$",
        ),
        (
            "Rule.example.com default/unusable",
            "warning",
            "its CRD's schema of v2 cannot be checked against (the pattern (unclosed is not a "
            "regular expression): its fields were not checked",
        ),
    ]
