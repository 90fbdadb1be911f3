"""`toolkit validate` on real renders: one violation of each kind, found exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden import assert_golden
from tests.helpers import Cli, commit_all, git, json_result, make_repo

CHART = {
    "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    "charts/web/values.yaml": "image: nginx:latest\n",
    # image-tag (':latest') and resource-requests (none set): both on this one container.
    "charts/web/templates/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: {{ .Values.image }}
""",
    # helm-hook: a pre-install Job, otherwise clean.
    "charts/web/templates/hook.yaml": """\
apiVersion: batch/v1
kind: Job
metadata:
  name: web-migrate
  annotations:
    helm.sh/hook: pre-install
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: busybox:1.36
          resources: {requests: {cpu: 10m}}
""",
}

RESOURCES = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bad-replicas
  namespace: shop
spec:
  replicas: "3"
  selector:
    matchLabels: {app: x}
  template:
    metadata:
      labels: {app: x}
    spec:
      containers:
        - name: x
          image: nginx:1.27
          resources: {requests: {cpu: 10m}}
---
apiVersion: apps/v1beta5
kind: Deployment
metadata:
  name: from-the-future
  namespace: shop
---
apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata:
  name: restricted
spec: {}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
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
                size: {type: integer}
                port: {x-kubernetes-int-or-string: true}
                note: {type: string, nullable: true}
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: fine
  namespace: shop
spec: {size: 3, port: http, note: null}
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: too-big
  namespace: shop
spec:
  size: big
---
apiVersion: example.com/v2
kind: Widget
metadata:
  name: next
  namespace: shop
---
apiVersion: other.example.com/v1
kind: Gadget
metadata:
  name: unknown
  namespace: shop
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: shop
stringData:
  password: planted-validate-canary
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: lost
  namespace: nowhere
"""

VIOLATIONS_REPO = {
    "toolkit.yaml": """\
environments:
  - name: current
    kubeVersion: "1.33.0"
  - name: old
    kubeVersion: "1.24.0"
validate:
  policies:
    helm-hook: error
    resource-requests: warning
""",
    "overlays/current/kustomization.yaml": "resources: [resources.yaml]\n",
    "overlays/current/resources.yaml": RESOURCES,
    "overlays/current/releases.yaml": (
        "releases:\n  - name: web\n    namespace: shop\n    chart: ../../charts/web\n"
    ),
    "overlays/old/kustomization.yaml": "resources: [psp.yaml]\n",
    "overlays/old/psp.yaml": (
        "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata:\n  name: restricted\n"
    ),
    **CHART,
}

EXPECTED = {
    ("current", "schema", "error", "Deployment.apps shop/bad-replicas"),
    ("current", "unknown-api", "error", "Deployment.apps shop/from-the-future"),
    ("current", "removed-api", "error", "PodSecurityPolicy.policy restricted"),
    ("current", "crd-schema", "error", "Widget.example.com shop/too-big"),
    ("current", "crd-version", "error", "Widget.example.com shop/next"),
    ("current", "no-schema", "warning", "Gadget.other.example.com shop/unknown"),
    ("current", "policy/plain-secret", "warning", "Secret shop/creds"),
    ("current", "policy/undeclared-namespace", "warning", "ConfigMap nowhere/lost"),
    ("current", "policy/image-tag", "warning", "Deployment.apps shop/web"),
    ("current", "policy/resource-requests", "warning", "Deployment.apps shop/web"),
    ("current", "policy/helm-hook", "error", "Job.batch shop/web-migrate"),
    ("old", "deprecated-api", "warning", "PodSecurityPolicy.policy restricted"),
}


@pytest.fixture
def violations_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "config", VIOLATIONS_REPO, example=False)


def test_each_violation_is_reported_exactly_once_in_json(
    run_cli: Cli, violations_repo: Path
) -> None:
    result = run_cli(violations_repo, "validate", "--json")
    assert result.exit_code == 1, result.stderr
    report = json_result(result.stdout)
    found = [
        (env["name"], f["rule"], f["severity"], f["resource"])
        for env in report["environments"]
        for f in env["findings"]
    ]
    assert sorted(found) == sorted(EXPECTED)
    assert (report["errors"], report["warnings"]) == (6, 6)
    old = next(env for env in report["environments"] if env["name"] == "old")
    assert old["notes"] == [
        "old: no schemas for Kubernetes 1.24 (they start at 1.25): "
        "built-in kinds were not checked against a schema"
    ]


def test_text_report_gives_file_and_line_per_finding(run_cli: Cli, violations_repo: Path) -> None:
    result = run_cli(violations_repo, "validate")
    assert result.exit_code == 1
    assert_golden("validate-violations.txt", result.stdout)


def test_no_finding_quotes_a_secret_value(run_cli: Cli, violations_repo: Path) -> None:
    for args in (("validate",), ("validate", "--json")):
        result = run_cli(violations_repo, *args)
        assert "planted-validate-canary" not in result.stdout + result.stderr


def test_strict_makes_a_custom_kind_without_a_schema_an_error(
    run_cli: Cli, violations_repo: Path
) -> None:
    report = json_result(
        run_cli(violations_repo, "validate", "current", "--strict", "--json").stdout
    )
    (gadget,) = [f for f in report["environments"][0]["findings"] if f["rule"] == "no-schema"]
    assert gadget["severity"] == "error"


def test_the_example_repository_validates_clean(run_cli: Cli, example_repo: Path) -> None:
    result = run_cli(example_repo, "validate", "--json")
    assert result.exit_code == 0, result.stdout
    report = json_result(result.stdout)
    assert [f for env in report["environments"] for f in env["findings"]] == []


RANDOM_CHART = {
    "toolkit.yaml": 'environments:\n  - name: dev\n    kubeVersion: "1.33.0"\n',
    "overlays/dev/releases.yaml": (
        "releases:\n  - name: app\n    namespace: default\n    chart: ../../charts/app\n"
    ),
    "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
    "charts/app/templates/stable.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stable\ndata:\n  a: b\n"
    ),
    "charts/app/templates/password.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: generated\n"
        "data:\n  password: {{ randAlphaNum 16 | quote }}\n"
    ),
}


def test_determinism_names_the_resource_and_template_that_vary(
    run_cli: Cli, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "config", RANDOM_CHART, example=False)
    report = json_result(run_cli(repo, "validate", "--determinism", "--json").stdout)
    (finding,) = report["environments"][0]["findings"]
    assert finding["rule"] == "nondeterministic"
    assert finding["resource"] == "ConfigMap default/generated"
    assert finding["template"] == "app/templates/password.yaml"
    assert "/data/password" in finding["message"]


def test_determinism_ignore_accepts_the_fields_meant_to_vary(run_cli: Cli, tmp_path: Path) -> None:
    files = dict(RANDOM_CHART)
    files["toolkit.yaml"] += (
        "validate:\n  determinism:\n    ignore:\n"
        "      - {kind: ConfigMap, name: generated, jsonPointers: [/data/password]}\n"
    )
    repo = make_repo(tmp_path / "config", files, example=False)
    result = run_cli(repo, "validate", "--determinism")
    assert result.exit_code == 0, result.stdout


def test_the_example_repository_is_deterministic(run_cli: Cli, example_repo: Path) -> None:
    result = run_cli(example_repo, "validate", "--determinism", "--json")
    assert result.exit_code == 0, result.stdout
    assert json_result(result.stdout)["errors"] == 0


def test_an_unknown_policy_in_toolkit_yaml_is_an_input_error(run_cli: Cli, tmp_path: Path) -> None:
    files = {
        "toolkit.yaml": (
            "environments: [{name: dev}]\nvalidate:\n  policies:\n    image-tags: error\n"
        ),
        "overlays/dev/kustomization.yaml": "resources: []\n",
    }
    repo = make_repo(tmp_path / "config", files, example=False)
    result = run_cli(repo, "validate")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: toolkit.yaml:4: validate.policies has no policy 'image-tags' "
        "(did you mean 'image-tag'?); the policies are: plain-secret, image-tag, "
        "undeclared-namespace, helm-hook, resource-requests"
    )


def test_hydrate_validate_commits_nothing_when_validation_finds_an_error(
    run_cli: Cli, violations_repo: Path
) -> None:
    result = run_cli(violations_repo, "hydrate", "--validate")
    assert result.exit_code == 1
    assert "current/kustomize/deployment-bad-replicas.yaml:7: error:" in result.stderr
    assert result.stderr.rstrip().endswith(
        "error: validation found errors: nothing was committed or pushed"
    )
    assert git(violations_repo, "branch", "--list", "rendered") == ""


def test_hydrate_validate_commits_what_validates(run_cli: Cli, tmp_path: Path) -> None:
    files = {
        "toolkit.yaml": 'environments:\n  - name: dev\n    kubeVersion: "1.33.0"\n',
        "overlays/dev/kustomization.yaml": "resources: [cm.yaml]\n",
        "overlays/dev/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
    }
    repo = make_repo(tmp_path / "config", files, example=False)
    result = run_cli(repo, "hydrate", "--validate")
    assert result.exit_code == 0, result.stderr
    assert "validate: 0 errors, 0 warnings in 1 environment" in result.stderr
    assert git(repo, "ls-tree", "-r", "--name-only", "rendered", "dev/kustomize") == (
        "dev/kustomize/configmap-ok.yaml"
    )


def test_validate_ref_checks_that_revision_not_the_work_tree(
    run_cli: Cli, violations_repo: Path
) -> None:
    before = git(violations_repo, "rev-parse", "HEAD")
    (violations_repo / "overlays/old/psp.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fixed\n  namespace: default\n"
    )
    commit_all(violations_repo, "replace the PSP")
    now = json_result(run_cli(violations_repo, "validate", "old", "--json").stdout)
    then = json_result(
        run_cli(violations_repo, "validate", "old", "--ref", before, "--json").stdout
    )
    assert now["environments"][0]["findings"] == []
    assert [f["rule"] for f in then["environments"][0]["findings"]] == ["deprecated-api"]
    assert then["ref"] == before


def test_diff_reports_the_heads_findings_above_the_resource_diffs(
    run_cli: Cli, tmp_path: Path
) -> None:
    files = {
        "toolkit.yaml": 'environments:\n  - name: dev\n    kubeVersion: "1.33.0"\n',
        "overlays/dev/kustomization.yaml": "resources: [pod.yaml]\n",
        "overlays/dev/pod.yaml": (
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: default\n"
            "spec:\n  containers:\n    - name: web\n      image: nginx:1.27\n"
        ),
    }
    repo = make_repo(tmp_path / "config", files, example=False)
    pod = repo / "overlays/dev/pod.yaml"
    pod.write_text(pod.read_text().replace("nginx:1.27", "nginx:latest"))
    base = git(repo, "rev-parse", "HEAD")
    markdown = run_cli(repo, "diff", "--base", base, "--format", "markdown").stdout
    section = markdown.index("**Validation of the head**: 0 errors, 1 warning")
    assert section < markdown.index("<details>")
    assert "`dev/kustomize/pod-web.yaml:8` `Pod default/web`" in markdown
    report = json_result(run_cli(repo, "diff", "--base", base, "--format", "json").stdout)
    (env,) = report["validation"]
    assert [f["rule"] for f in env["findings"]] == ["policy/image-tag"]


TRICKY = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: dated
  namespace: default
  annotations:
    released: 2020-01-01
data:
  when: 2020-01-01
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: things.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Thing, plural: things}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            metadata:
              type: object
              properties:
                name: {type: string, maxLength: 20}
            spec:
              type: object
              properties:
                o:
                  type: object
                  nullable: true
                  properties:
                    b: {type: string}
---
apiVersion: example.com/v1
kind: Thing
metadata:
  name: labelled
  namespace: default
  labels: {a: b}
spec:
  o:
    b: fine
    x: unknown
"""


def test_dates_crd_metadata_and_nullable_objects_are_read_as_the_api_server_reads_them(
    run_cli: Cli, tmp_path: Path
) -> None:
    files = {
        "toolkit.yaml": 'environments:\n  - name: dev\n    kubeVersion: "1.33.0"\n',
        "overlays/dev/kustomization.yaml": "resources: [tricky.yaml]\n",
        "overlays/dev/tricky.yaml": TRICKY,
    }
    repo = make_repo(tmp_path / "config", files, example=False)
    result = run_cli(repo, "validate", "--json")
    assert result.exit_code == 1, result.stderr
    findings = json_result(result.stdout)["environments"][0]["findings"]
    assert [(f["resource"], f["message"]) for f in findings] == [
        ("Thing.example.com default/labelled", "spec.o: unknown field 'x'")
    ]


@pytest.mark.parametrize("pattern", ["/etc/*.conf", "../elsewhere/*.yaml", " "])
def test_a_crd_pattern_outside_the_repository_is_an_input_error_with_its_line(
    run_cli: Cli, tmp_path: Path, pattern: str
) -> None:
    files = {
        "toolkit.yaml": f'environments: [{{name: dev}}]\nvalidate:\n  crds: ["{pattern}"]\n',
        "overlays/dev/kustomization.yaml": "resources: []\n",
    }
    repo = make_repo(tmp_path / "config", files, example=False)
    result = run_cli(repo, "validate")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: toolkit.yaml:3: validate.crds pattern '{pattern}'")
