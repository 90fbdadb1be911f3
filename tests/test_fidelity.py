"""The differential corpus: every document on the rendered branch, read as Kubernetes reads YAML
(by helm's own Go reader), equals what helm and kustomize printed, read the same way, plus the
namespace toolkit fills in; and values reach helm meaning what `helm -f` makes of them.

Runs against the suite's helm (nox runs it once with helm 3 and once with helm 4)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.kubereading import KubeReading, split_stream
from tests.helpers import Cli, branch_files, make_repo, show
from toolkit.infra import kubescalars, kubeyaml, process
from toolkit.render import tools

NAMESPACE = "fid"

# Every scalar class that YAML 1.1, YAML 1.2 and Kubernetes read differently, printed plain,
# quoted and in block scalars; a CRD shaped like kube-prometheus-stack's AlertmanagerConfig.
CHART = {
    "charts/fidelity/Chart.yaml": "apiVersion: v2\nname: fidelity\nversion: 1.0.0\n",
    "charts/fidelity/values.yaml": "config: {}\nplain: {}\n",
    "charts/fidelity/templates/scalars.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: scalars
  labels:
    app: fidelity
data:
  quoted-n: "n"
  quoted-y: 'y'
  quoted-exp: "1e3"
  quoted-octal: "0o755"
  quoted-time: "12:30"
  quoted-stamp: "2024-01-01T10:00:00Z"
  quoted-eq: "="
  quoted-match: "=~"
  values.json: {{ .Values | toJson | quote }}
  window: {{ .Values.plain.window | quote }}
  grafana.ini: |
    [server]
    root_url = https://example.com/grafana
      indented = yes
    trailing = spaces\x20\x20\x20
  folded: >-
    folded
    text

    paragraph
  kept: |+
    kept

  stripped: |-
    stripped
  leading: |2
      starts indented
""",
    "charts/fidelity/templates/raw.yaml": """\
apiVersion: example.com/v1
kind: Settings
metadata:
  name: raw
spec:
  plain-n: n
  plain-y: y
  plain-exp: 1e3
  plain-octal: 0o755
  plain-old-octal: 0755
  plain-hex: 0x1F
  plain-binary: 0b101
  plain-underscores: 1_000
  plain-time: 12:30
  plain-base60: 1:30:00
  plain-date: 2024-01-01
  plain-stamp: 2024-01-01T10:00:00Z
  plain-eq: =
  plain-match: =~
  plain-on: on
  plain-null: ~
  plain-leading-zero: 08
  plain-big: 18446744073709551615
  y: the key y
  "n": the key n
  from-values:
    {{- toYaml .Values.config | nindent 4 }}
""",
    "charts/fidelity/templates/flow.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata: {name: flow, labels: {a: "y", b: "0o755"}}
data: {n: "n", t: "12:30", e: "1e3", "y": "y"}
""",
    "charts/fidelity/templates/multiline.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: multiline
  annotations:
    single: 'it''s a long
      annotation: over lines'
    double: "tab\\tand\\
      continued"
data:
  k: v
""",
    "charts/fidelity/templates/list.yaml": """\
apiVersion: v1
kind: ConfigMapList
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: listed
  data:
    n: "n"
    t: "12:30"
    block: |
      line one
      line two
- apiVersion: v1
  kind: List
  items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: nested}
    data: {o: "0o755"}
""",
    "charts/fidelity/templates/cluster.yaml": """\
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: letsencrypt
spec:
  acme: {server: "https://acme.example.com"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: "monitoring:view"
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: monitoring-view
rules: []
""",
    "charts/fidelity/crds/alertmanagerconfigs.yaml": """\
# A kube-prometheus-stack-shaped CRD: matchers' `=`/`=~` operators as plain enum items.
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  annotations:
    controller-gen.kubebuilder.io/version: v0.21.0
  name: alertmanagerconfigs.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  names:
    kind: AlertmanagerConfig
    plural: alertmanagerconfigs
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        properties:
          spec:
            properties:
              route:
                properties:
                  matchers:
                    items:
                      properties:
                        matchType:
                          description: |-
                            Match operation available with AlertManager >= v0.22.0.
                            N.B. "=" and "!=" are the only operators before v0.22.0.
                          enum:
                          - '!='
                          - =
                          - =~
                          - '!~'
                          type: string
                        name:
                          description: 'Label to match: a name that is
                            matched over two lines.'
                          minLength: 1
                          type: string
                      type: object
                    type: array
                type: object
            type: object
        type: object
""",
}

# A values file as real ones are written: anchors, merge keys, a duplicate key (helm: the last
# wins), dates, YAML 1.1 booleans, exponents, octals and base 60.
VALUES = """\
defaults: &defaults
  retries: 3
  window: 1:30
  released: 2024-01-01
  stamp: 2024-01-01T10:00:00Z
config:
  <<: *defaults
  enabled: y
  disabled: n
  scale: 1e3
  mode: 0o755
  retries: 5
  retries: 7
plain:
  window: 12:30
"""

OVERLAY = {
    "overlays/dev/kustomization.yaml": """\
resources: [settings.yaml]
configMapGenerator:
- name: generated
  literals: [n=n, time=12:30, exp=1e3, octal=0o755, eq==]
  options: {disableNameSuffixHash: true}
""",
    "overlays/dev/settings.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  n: "n"
  y: "y"
  exp: "1e3"
  octal: "0o755"
  time: "12:30"
  stamp: "2024-01-01T10:00:00Z"
  eq: "="
  match: "=~"
  config.ini: |
    [section]
    key = value
""",
    "overlays/dev/releases.yaml": f"""\
releases:
  - name: fidelity
    namespace: {NAMESPACE}
    chart: ../../charts/fidelity
    values: [values/fidelity.yaml]
""",
    "overlays/dev/values/fidelity.yaml": VALUES,
}


_CLUSTER_SCOPED = ("ClusterIssuer", "ClusterRole", "CustomResourceDefinition")


def _float64(value: Any) -> Any:
    """A value as Go's interface{} holds JSON numbers (float64), for comparing with helm."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [_float64(item) for item in value]
    return {key: _float64(item) for key, item in value.items()}


def _unpacked(documents: list[Any]) -> list[dict[str, Any]]:
    """Typed lists' items in their place, as kustomize and kubectl apply them."""
    found = []
    for document in documents:
        kind = document.get("kind", "")
        if kind.endswith("List") and "items" in document:
            found += _unpacked(document["items"] or [])
        else:
            found.append(document)
    return found


def _identity(document: dict[str, Any]) -> tuple[str, str, str]:
    return document["apiVersion"], document["kind"], document["metadata"]["name"]


def _hydrated(tmp_path: Path, run_cli: Cli) -> Path:
    repo = make_repo(
        tmp_path / "config",
        {"toolkit.yaml": "environments:\n  - name: dev\n", **CHART, **OVERLAY},
        example=False,
    )
    result = run_cli(repo, "hydrate")
    assert result.exit_code == 0, result.stderr
    return repo


def _renderers_output(repo: Path, helm: tools.Tool, kustomize: tools.Tool) -> dict[str, str]:
    """What a user's own commands print for the same release and overlay."""
    helm_args = (str(helm.path), "template", "fidelity", str(repo / "charts/fidelity"))
    helm_args += ("--namespace", NAMESPACE, "--include-crds")
    helm_args += ("-f", str(repo / "overlays/dev/values/fidelity.yaml"))
    return {
        "fidelity": process.run(helm_args).stdout.decode(),
        "kustomize": process.run((*kustomize.command, str(repo / "overlays/dev"))).stdout.decode(),
    }


def test_every_document_on_the_branch_means_what_the_renderer_printed(
    tmp_path: Path,
    run_cli: Cli,
    helm_tool: tools.Tool,
    kustomize_tool: tools.Tool,
    kube_reading: KubeReading,
) -> None:
    repo = _hydrated(tmp_path, run_cli)
    outputs = _renderers_output(repo, helm_tool, kustomize_tool)
    for source, printed in outputs.items():
        reference = _unpacked(kube_reading(split_stream(printed)))
        paths = [p for p in branch_files(repo) if p.startswith(f"dev/{source}/")]
        texts = [show(repo, path) + "\n" for path in paths]
        on_branch = kube_reading(texts)
        assert not [d for d in reference + on_branch if "Error" in d], "both sides read"
        by_identity = {_identity(d): d for d in reference}
        assert sorted(map(_identity, on_branch)) == sorted(by_identity)

        for path, text, document in zip(paths, texts, on_branch, strict=True):
            expected = by_identity[_identity(document)]
            metadata = expected["metadata"]
            cluster_scoped = document["kind"] in _CLUSTER_SCOPED
            if source == "fidelity" and "namespace" not in metadata and not cluster_scoped:
                expected = {**expected, "metadata": {**metadata, "namespace": NAMESPACE}}
            assert document == expected, path
            # toolkit's own reader agrees with Go's on every document.
            assert _float64(kubeyaml.load(text)) == document, path


def test_values_reach_helm_meaning_what_helm_f_makes_of_them(
    tmp_path: Path, run_cli: Cli, helm_tool: tools.Tool, kustomize_tool: tools.Tool
) -> None:
    repo = _hydrated(tmp_path, run_cli)
    printed = _renderers_output(repo, helm_tool, kustomize_tool)["fidelity"]
    reference = next(yaml.safe_load(d) for d in split_stream(printed) if "name: scalars" in d)[
        "data"
    ]["values.json"]
    ours = yaml.safe_load(show(repo, "dev/fidelity/configmap-scalars.yaml"))["data"]["values.json"]

    assert ours == reference
    config = json.loads(ours)["config"]
    assert config == {
        "retries": 7,  # merged 3, then 5, then the duplicate's 7: helm keeps the last
        "window": "1:30",  # no base 60
        "released": "2024-01-01",
        "stamp": "2024-01-01T10:00:00Z",
        "enabled": True,
        "disabled": False,
        "scale": 1000,
        "mode": 493,
    }


def test_a_kube_prometheus_stack_shaped_crd_hydrates_as_printed(
    tmp_path: Path, run_cli: Cli
) -> None:
    repo = _hydrated(tmp_path, run_cli)
    path = "dev/fidelity/customresourcedefinition-alertmanagerconfigs.monitoring.coreos.com.yaml"

    crd = CHART["charts/fidelity/crds/alertmanagerconfigs.yaml"]
    source = "# Source: fidelity/crds/alertmanagerconfigs.yaml\n"
    assert show(repo, path) + "\n" == source + crd  # the file's own bytes, its comment too
    enum = kubeyaml.load(crd)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    matcher = enum["properties"]["spec"]["properties"]["route"]["properties"]["matchers"]
    assert matcher["items"]["properties"]["matchType"]["enum"] == ["!=", "=", "=~", "!~"]


def test_the_branch_keeps_block_scalars_and_adds_only_the_namespace(
    tmp_path: Path, run_cli: Cli
) -> None:
    repo = _hydrated(tmp_path, run_cli)

    scalars = show(repo, "dev/fidelity/configmap-scalars.yaml")
    assert "  grafana.ini: |\n    [server]\n" in scalars
    assert scalars.startswith(
        "# Source: fidelity/templates/scalars.yaml\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: scalars\n  namespace: fid\n"
    )
    assert "namespace" not in show(repo, "dev/fidelity/clusterissuer-letsencrypt.yaml")
    assert "  plain-time: 12:30\n" in show(repo, "dev/fidelity/settings-raw.yaml")


# --- generated scalars ------------------------------------------------------------------------

_SPECIAL = st.sampled_from(
    [
        "y",
        "n",
        "yes",
        "No",
        "on",
        "OFF",
        "~",
        "null",
        "Null",
        "true",
        "=",
        "=~",
        "<<",
        "-",
        ".",
        "0",
        "08",
        "0o",
        "0x",
        "0b",
        "1e3",
        "1E-3",
        ".5",
        "5.",
        "1_000",
        "1:30",
        "12:30:00",
        ".inf",
        "-.Inf",
        ".nan",
        "2024-01-01",
        "2024-01-01T10:00:00Z",
        "+1",
        "-0",
        "0x_1F",
        "9" * 20,
    ]
)
_PIECES = st.sampled_from([*"0123456789+-._:eExXoObB ", "y", "n", "inf", "nan"])
_SCALARS = st.one_of(
    _SPECIAL,
    st.lists(_PIECES, min_size=1, max_size=8).map("".join),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    st.text(alphabet="ab \n\t:#'\"|>-", max_size=20),
)


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_SCALARS, min_size=50, max_size=50))
def test_plain_scalars_resolve_as_go_yaml_v2_resolves_them(
    kube_reading: KubeReading, scalars: list[str]
) -> None:
    plain = [s for s in scalars if _is_plain_scalar(s)]
    read = kube_reading([f"v: {s}\n" for s in plain])
    for scalar, reference in zip(plain, read, strict=True):
        if "Error" in reference:  # .inf and .nan: Kubernetes cannot turn them into JSON
            assert not math.isfinite(kubescalars.plain_value(scalar)), scalar
        else:
            assert _float64(kubescalars.plain_value(scalar)) == reference["v"], scalar


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_SCALARS, min_size=50, max_size=50))
def test_written_strings_read_back_unchanged_in_go(
    kube_reading: KubeReading, scalars: list[str]
) -> None:
    values = [{"k": s, s or "empty": [s], "n": {"deep": s}} for s in scalars]
    read = kube_reading([kubeyaml.dump(v) for v in values])
    assert read == values


def _is_plain_scalar(text: str) -> bool:
    """Whether `v: text` holds `text` as one untagged plain scalar (what the test can print)."""
    try:
        node = yaml.compose(f"v: {text}\n")
    except yaml.YAMLError:
        return False
    if not isinstance(node, yaml.MappingNode) or len(node.value) != 1:
        return False
    value = node.value[0][1]
    return isinstance(value, yaml.ScalarNode) and value.style is None and value.value == text
