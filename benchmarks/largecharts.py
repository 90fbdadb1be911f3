"""A fleet of large charts shaped like real ones: N environments x two releases.

- `monitoring` is shaped like kube-prometheus-stack: crds/ with ten big CustomResourceDefinitions
  (deep OpenAPI schemas, `description: |-` blocks, multi-line quoted descriptions, enums with
  `=` and `=~`), sixty Grafana dashboards as JSON in ConfigMaps, and hundreds of rules,
  monitors and RBAC objects templated from lists in its values: about 8 MB and 800 documents.
- `gitops` is shaped like argo-cd: three CRDs with multi-line plain descriptions, deployments,
  services, config maps and RBAC: about 2 MB.

Everything is generated here (no chart is fetched); release values differ per environment, so
each render is distinct. A small Kustomize overlay per environment completes the shell loop.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from benchmarks.fleet import Fleet, Release, git

_PROSE = (
    "the field selects which endpoints of the target are scraped and how often; an empty value "
    "means every endpoint, and the operator keeps the previous configuration when it is invalid"
)
_WORDS = tuple(_PROSE.split(" "))


def _text(seed: int, words: int) -> str:
    return " ".join(_WORDS[(seed + i * 7) % len(_WORDS)] for i in range(words))


def _schema(depth: int, width: int, seed: int, indent: int) -> list[str]:
    """An OpenAPI schema as controller-gen writes one, `width` properties per level."""
    pad = " " * indent
    lines = [f"{pad}properties:"]
    for i in range(width):
        name = f"field{seed % 97}{i}"
        lines.append(f"{pad}  {name}:")
        if i % 4 == 1:
            # A long description quoted over several lines, as go-yaml writes it.
            lines.append(f"{pad}    description: '{_text(seed + i, 12)} it''s")
            lines.append(f"{pad}      {_text(seed + i + 3, 12)}'")
        else:
            lines.append(f"{pad}    description: |-")
            for line in range(3):
                lines.append(f"{pad}      {_text(seed + i + line, 14)}")
        if depth > 0 and i % 3 == 0:
            lines.append(f"{pad}    type: object")
            lines += _schema(depth - 1, width, seed * 3 + i, indent + 4)
        elif i % 5 == 2:
            lines += [f"{pad}    enum:", f"{pad}    - '!='", f"{pad}    - =", f"{pad}    - =~"]
            lines.append(f"{pad}    type: string")
        else:
            lines.append(f"{pad}    type: {('string', 'integer', 'boolean')[i % 3]}")
    return lines


def _crd(group: str, kind: str, seed: int, depth: int, width: int) -> str:
    plural = kind.lower() + "s"
    head = textwrap.dedent(
        f"""\
        # Source: generated for the benchmark
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          annotations:
            controller-gen.kubebuilder.io/version: v0.21.0
          name: {plural}.{group}
        spec:
          group: {group}
          names:
            categories: [all]
            kind: {kind}
            listKind: {kind}List
            plural: {plural}
            singular: {kind.lower()}
          scope: Namespaced
          versions:
          - name: v1
            served: true
            storage: true
            schema:
              openAPIV3Schema:
                description: {kind} is generated for the benchmark.
                type: object
        """
    )
    return head + "\n".join(_schema(depth, width, seed, 8)) + "\n"


def _dashboard(index: int) -> str:
    panels = [
        {
            "id": p,
            "title": f"Panel {p}",
            "type": "timeseries",
            "targets": [{"expr": f'sum(rate(http_requests_total{{job="svc-{p}"}}[5m]))'}],
            "gridPos": {"h": 8, "w": 12, "x": (p % 2) * 12, "y": p * 8},
        }
        for p in range(40)
    ]
    dashboard = {"title": f"Dashboard {index}", "uid": f"d{index}", "panels": panels}
    return json.dumps(dashboard, indent=2)


_MONITORING_TEMPLATES = {
    "rules.yaml": """\
{{- range $i := until (int .Values.ruleGroups) }}
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: {{ $.Release.Name }}-rules-{{ $i }}
  labels:
    app.kubernetes.io/instance: {{ $.Release.Name }}
    release: {{ $.Release.Name | quote }}
spec:
  groups:
  - name: group-{{ $i }}
    rules:
    - alert: HighErrorRate{{ $i }}
      annotations:
        description: 'Errors of {{ "{{" }} $labels.job {{ "}}" }} are above
          {{ $.Values.threshold }}% for {{ $.Values.window }}.'
        summary: "High error rate"
      expr: |-
        sum(rate(http_requests_total{code=~"5..", job="svc-{{ $i }}"}[5m]))
          / sum(rate(http_requests_total{job="svc-{{ $i }}"}[5m])) > {{ $.Values.threshold }}
      for: {{ $.Values.window }}
      labels:
        severity: warning
{{- end }}
""",
    "monitors.yaml": """\
{{- range $i := until (int .Values.monitors) }}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ $.Release.Name }}-monitor-{{ $i }}
  labels:
    app.kubernetes.io/instance: {{ $.Release.Name }}
spec:
  endpoints:
  - port: http-metrics
    interval: {{ $.Values.interval }}
    relabelings:
    - action: replace
      sourceLabels: [__meta_kubernetes_pod_node_name]
      targetLabel: node
  namespaceSelector:
    matchNames: [{{ $.Release.Namespace }}]
  selector:
    matchLabels:
      app.kubernetes.io/name: svc-{{ $i }}
{{- end }}
""",
    "rbac.yaml": """\
{{- range $i := until (int .Values.roles) }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ $.Release.Name }}-view-{{ $i }}
rules:
- apiGroups: ["", "apps", "monitoring.coreos.com"]
  resources: [pods, services, endpoints, deployments, servicemonitors]
  verbs: [get, list, watch]
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $.Release.Name }}-sa-{{ $i }}
{{- end }}
""",
    "dashboards.yaml": """\
{{- range $path, $_ := .Files.Glob "dashboards/*.json" }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $.Release.Name }}-{{ base $path | trimSuffix ".json" }}
  labels:
    grafana_dashboard: "1"
data:
  {{ base $path }}: |-
    {{- $.Files.Get $path | nindent 4 }}
{{- end }}
""",
    "deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-operator
  labels:
    app.kubernetes.io/instance: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: operator}
  template:
    metadata:
      labels: {app: operator}
    spec:
      containers:
      - name: operator
        image: "quay.io/prometheus-operator/prometheus-operator:{{ .Values.tag }}"
        args: {{ toJson .Values.args }}
        resources:
          {{- toYaml .Values.resources | nindent 10 }}
""",
}

_GITOPS_TEMPLATES = {
    "components.yaml": """\
{{- range $c := .Values.components }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $.Release.Name }}-{{ $c }}
  labels: {app.kubernetes.io/name: {{ $c }}, app.kubernetes.io/instance: {{ $.Release.Name }}}
spec:
  replicas: {{ $.Values.replicas }}
  selector:
    matchLabels: {app.kubernetes.io/name: {{ $c }}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: {{ $c }}}
    spec:
      containers:
      - name: {{ $c }}
        image: "quay.io/argoproj/argocd:{{ $.Values.tag }}"
        command: [argocd-{{ $c }}]
        env:
        - {name: ARGOCD_LOG_LEVEL, value: {{ $.Values.logLevel | quote }}}
        ports:
        - {containerPort: 8080, name: http}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $.Release.Name }}-{{ $c }}
spec:
  ports:
  - {name: http, port: 80, targetPort: http}
  selector: {app.kubernetes.io/name: {{ $c }}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $.Release.Name }}-{{ $c }}-cm
data:
  admin.enabled: "true"
  exec.enabled: "false"
  timeout.reconciliation: {{ $.Values.timeout | quote }}
{{- end }}
""",
}


def _crd_plain(group: str, kind: str, seed: int) -> str:
    """A CRD whose descriptions are multi-line plain scalars, as argo-cd's are."""
    lines = _crd(group, kind, seed, depth=4, width=9).splitlines()
    return "\n".join(line.replace("description: |-", "description: >-") for line in lines) + "\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def write_charts(root: Path) -> None:
    """The two large charts, under `root`/charts."""
    monitoring = root / "charts" / "monitoring"
    _write(monitoring / "Chart.yaml", "apiVersion: v2\nname: monitoring\nversion: 88.5.3\n")
    _write(
        monitoring / "values.yaml",
        "ruleGroups: 300\nmonitors: 200\nroles: 130\nreplicas: 1\nthreshold: 5\nwindow: 10m\n"
        "interval: 30s\ntag: v0.93.1\nargs: [--log-level=info]\n"
        "resources: {requests: {cpu: 100m, memory: 128Mi}}\n",
    )
    kinds = ["Alertmanager", "Prometheus", "PrometheusAgent", "ThanosRuler", "PodMonitor"]
    kinds += ["Probe", "ScrapeConfig", "AlertmanagerConfig", "ServiceMonitor", "PrometheusRule"]
    for seed, kind in enumerate(kinds):
        _write(
            monitoring / "crds" / f"crd-{kind.lower()}.yaml",
            _crd("monitoring.coreos.com", kind, seed + 11, depth=4, width=9),
        )
    for index in range(60):
        _write(monitoring / "dashboards" / f"dashboard-{index:02d}.json", _dashboard(index))
    for name, text in _MONITORING_TEMPLATES.items():
        _write(monitoring / "templates" / name, text)
    gitops = root / "charts" / "gitops"
    _write(gitops / "Chart.yaml", "apiVersion: v2\nname: gitops\nversion: 10.1.1\n")
    _write(
        gitops / "values.yaml",
        "components: [server, repo-server, application-controller, applicationset-controller, "
        "notifications-controller, dex-server, redis]\nreplicas: 1\ntag: v3.4.4\n"
        "logLevel: info\ntimeout: 180s\n",
    )
    for seed, kind in enumerate(("Application", "ApplicationSet", "AppProject")):
        _write(gitops / "crds" / f"crd-{kind.lower()}.yaml", _crd_plain("argoproj.io", kind, seed))
    for name, text in _GITOPS_TEMPLATES.items():
        _write(gitops / "templates" / name, text)


def generate(root: Path, *, environments: int = 4) -> Fleet:
    """Write the fleet into `root` and commit it (git init included)."""
    kube_version = "1.33.0"
    envs = tuple(f"env-{i:02d}" for i in range(environments))
    lines = ["rendered:", "  branch: rendered", "environments:"]
    for env in envs:
        lines += [f"  - name: {env}", f'    kubeVersion: "{kube_version}"']
        lines += ['    apiVersions: ["monitoring.coreos.com/v1"]']
    _write(root / "toolkit.yaml", "\n".join(lines) + "\n")
    write_charts(root)
    releases = []
    for e, env in enumerate(envs):
        directory = root / "overlays" / env
        entries = ["releases:"]
        for name, chart, namespace, values in (
            ("monitoring", "monitoring", "monitoring", f"threshold: {5 + e}\nteam: ops\n"),
            ("gitops", "gitops", "argocd", f"timeout: {120 + e}s\nteam: platform\n"),
        ):
            _write(directory / "values" / f"{name}.yaml", values)
            entries += [
                f"  - name: {name}",
                f"    namespace: {namespace}",
                f"    chart: ../../charts/{chart}",
                f"    values: [values/{name}.yaml]",
            ]
            releases.append(
                Release(env, name, namespace, chart, (f"overlays/{env}/values/{name}.yaml",))
            )
        _write(directory / "releases.yaml", "\n".join(entries) + "\n")
        _write(
            directory / "kustomization.yaml",
            f"namespace: tools-{e}\nconfigMapGenerator:\n- name: settings\n"
            f"  literals: [REGION=region-{e}]\n",
        )
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "large-chart fleet")
    return Fleet(root, envs, tuple(releases), kube_version)
