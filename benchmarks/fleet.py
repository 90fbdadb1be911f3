"""A synthetic fleet: N environments x M Helm releases of realistic charts, plus a Kustomize
overlay per environment, committed in a git repository toolkit can hydrate.

Three charts (a web service, a queue worker, a stateful cache) of about ten resources each,
with the helpers, labels, checksums and conditionals real charts have; release i uses chart
i mod 3. Every environment has its own values per release, so each render is distinct.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from toolkit.infra import process

CHARTS = ("webapp", "worker", "cache")

_HELPERS = """\
{{- define "app.fullname" -}}
{{- printf "%s" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "app.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.team }}
example.com/team: {{ . }}
{{- end }}
{{- end -}}
{{- define "app.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
"""

_COMMON_TEMPLATES = {
    "serviceaccount.yaml": """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
automountServiceAccountToken: false
""",
    "configmap.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
data:
  LOG_LEVEL: {{ .Values.logLevel | quote }}
  {{- range $key, $value := .Values.env }}
  {{ $key }}: {{ $value | quote }}
  {{- end }}
""",
    "pdb.yaml": """\
{{- if gt (int .Values.replicas) 1 }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "app.selector" . | nindent 6 }}
{{- end }}
""",
    "networkpolicy.yaml": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "app.selector" . | nindent 6 }}
  policyTypes: [Ingress]
  ingress:
    - from:
        {{- range .Values.allowFrom }}
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: {{ . }}
        {{- end }}
      ports:
        - port: {{ .Values.port }}
""",
    "role.yaml": """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
rules:
  - apiGroups: [""]
    resources: [configmaps]
    resourceNames: [{{ include "app.fullname" . | quote }}]
    verbs: [get, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ include "app.fullname" . }}
subjects:
  - kind: ServiceAccount
    name: {{ include "app.fullname" . }}
    namespace: {{ .Release.Namespace }}
""",
    "service.yaml": """\
apiVersion: v1
kind: Service
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "app.selector" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.port }}
      targetPort: http
""",
}

_POD = """\
      serviceAccountName: {{ include "app.fullname" . }}
      securityContext:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          args: {{ toJson .Values.args }}
          ports:
            - name: http
              containerPort: {{ .Values.port }}
          envFrom:
            - configMapRef:
                name: {{ include "app.fullname" . }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          readinessProbe:
            httpGet:
              path: /healthz
              port: http
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [ALL]
"""

_WORKLOAD = (
    """\
apiVersion: apps/v1
kind: {{ .Values.kind }}
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicas }}
  {{- if eq .Values.kind "StatefulSet" }}
  serviceName: {{ include "app.fullname" . }}-headless
  {{- end }}
  selector:
    matchLabels:
      {{- include "app.selector" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "app.selector" . | nindent 8 }}
      annotations:
        checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    spec:
"""
    + _POD
)

_EXTRA_TEMPLATES = {
    "webapp": {
        "ingress.yaml": """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  ingressClassName: nginx
  rules:
    - host: {{ .Values.host }}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {{ include "app.fullname" . }}
                port:
                  name: http
""",
        "hpa.yaml": """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "app.fullname" . }}
  minReplicas: {{ .Values.replicas }}
  maxReplicas: {{ mul .Values.replicas 4 }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 70
""",
    },
    "worker": {
        "cronjob.yaml": """\
apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ include "app.fullname" . }}-sweep
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  schedule: {{ .Values.schedule | quote }}
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: sweep
              image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
              args: [sweep]
""",
        "secret.yaml": """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "app.fullname" . }}-queue
  labels:
    {{- include "app.labels" . | nindent 4 }}
type: Opaque
stringData:
  QUEUE_URL: {{ printf "amqp://%s.queue:5672" .Release.Namespace | quote }}
""",
    },
    "cache": {
        "headless.yaml": """\
apiVersion: v1
kind: Service
metadata:
  name: {{ include "app.fullname" . }}-headless
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  clusterIP: None
  selector:
    {{- include "app.selector" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.port }}
""",
        "servicemonitor.yaml": """\
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  selector:
    matchLabels:
      {{- include "app.selector" . | nindent 6 }}
  endpoints:
    - port: http
{{- end }}
""",
    },
}

_KINDS = {"webapp": "Deployment", "worker": "Deployment", "cache": "StatefulSet"}

_BASE = {
    "kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [deployment.yaml, service.yaml]
configMapGenerator:
  - name: web-config
    literals: [LOG_LEVEL=info]
""",
    "deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:1.0.0
          envFrom:
            - configMapRef: {name: web-config}
""",
    "service.yaml": """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - port: 80
""",
}


@dataclass(frozen=True)
class Release:
    environment: str
    name: str
    namespace: str
    chart: str
    values: tuple[str, ...]  # repository-relative values files, in merge order


@dataclass(frozen=True)
class Fleet:
    root: Path
    environments: tuple[str, ...]
    releases: tuple[Release, ...]
    kube_version: str

    def values_file(self, environment: str, release: str) -> Path:
        return self.root / "overlays" / environment / "values" / f"{release}.yaml"

    def change_one_environment(self, index: int, label: str) -> str:
        """Commit a new team label in one environment's last release (every resource of that
        release changes, as a real edit would); return the environment."""
        env = self.environments[(7 + index) % len(self.environments)]
        release = [r for r in self.releases if r.environment == env][-1]
        values = self.values_file(env, release.name)
        values.write_text(values.read_text().replace("team: ", f"team: {label}-"))
        git(self.root, "commit", "-q", "-am", f"{env}: a values change")
        return env


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _chart(root: Path, name: str) -> None:
    chart = root / "charts" / name
    _write(
        chart / "Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: 1.2.0\nappVersion: '1.2.0'\n"
    )
    _write(
        chart / "values.yaml",
        textwrap.dedent(
            f"""\
            kind: {_KINDS[name]}
            replicas: 1
            port: 8080
            logLevel: info
            team: ""
            image: {{repository: ghcr.io/example/{name}, tag: "1.0.0"}}
            args: [serve]
            env: {{}}
            allowFrom: [ingress-nginx]
            host: {name}.example.com
            schedule: "*/15 * * * *"
            resources:
              requests: {{cpu: 50m, memory: 64Mi}}
              limits: {{memory: 256Mi}}
            """
        ),
    )
    _write(chart / "templates" / "_helpers.tpl", _HELPERS)
    _write(chart / "templates" / "workload.yaml", _WORKLOAD)
    for file, text in {**_COMMON_TEMPLATES, **_EXTRA_TEMPLATES[name]}.items():
        _write(chart / "templates" / file, text)


def _values(env_index: int, release_index: int) -> str:
    return textwrap.dedent(
        f"""\
        replicas: {1 + (env_index + release_index) % 3}
        logLevel: {"debug" if env_index % 2 else "info"}
        team: team-{release_index % 4}
        image: {{tag: "1.{release_index}.{env_index}"}}
        env:
          FEATURE_A: "{env_index % 2 == 0}"
          REGION: region-{env_index % 5}
          SHARD: "{release_index}"
        host: svc-{release_index:02d}.env-{env_index:02d}.example.com
        """
    )


def generate(root: Path, *, environments: int = 20, releases: int = 10) -> Fleet:
    """Write the fleet into `root` and commit it (git init included)."""
    kube_version = "1.33.0"
    envs = tuple(f"env-{i:02d}" for i in range(environments))
    lines = ["rendered:", "  branch: rendered", "environments:"]
    for env in envs:
        lines += [f"  - name: {env}", f'    kubeVersion: "{kube_version}"']
        lines += ['    apiVersions: ["monitoring.coreos.com/v1"]']
    _write(root / "toolkit.yaml", "\n".join(lines) + "\n")
    for chart in CHARTS:
        _chart(root, chart)
    for file, text in _BASE.items():
        _write(root / "overlays" / "base" / file, text)
    fleet_releases = []
    for e, env in enumerate(envs):
        directory = root / "overlays" / env
        _write(
            directory / "values" / "common.yaml", f"allowFrom: [ingress-nginx, monitoring-{e}]\n"
        )
        entries = ["releases:"]
        for r in range(releases):
            name, chart, namespace = f"svc-{r:02d}", CHARTS[r % len(CHARTS)], f"team-{r % 4}"
            _write(directory / "values" / f"{name}.yaml", _values(e, r))
            entries += [
                f"  - name: {name}",
                f"    namespace: {namespace}",
                f"    chart: ../../charts/{chart}",
                '    version: "^1.0.0"',
                f"    values: [values/common.yaml, values/{name}.yaml]",
            ]
            fleet_releases.append(
                Release(
                    env,
                    name,
                    namespace,
                    chart,
                    (f"overlays/{env}/values/common.yaml", f"overlays/{env}/values/{name}.yaml"),
                )
            )
        _write(directory / "releases.yaml", "\n".join(entries) + "\n")
        _write(
            directory / "kustomization.yaml",
            textwrap.dedent(
                f"""\
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                namespace: web-{e:02d}
                resources: [../base]
                images:
                  - name: ghcr.io/example/web
                    newTag: "1.{e}.0"
                patches:
                  - patch: |-
                      - op: replace
                        path: /spec/replicas
                        value: {1 + e % 3}
                    target: {{kind: Deployment, name: web}}
                configMapGenerator:
                  - name: web-config
                    behavior: merge
                    literals: [REGION=region-{e % 5}]
                """
            ),
        )
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "synthetic fleet")
    return Fleet(root, envs, tuple(fleet_releases), kube_version)


def git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    return process.run(("git", *args), cwd=repo, env=env).stdout.decode().strip()
