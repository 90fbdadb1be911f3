"""Rendered manifests: parsing, identity, normalising, the one-resource-per-file layout, and
secret redaction."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from toolkit.errors import InputError, RenderError

# The libyaml C loader and dumper where PyYAML was built with them.
_Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)
_Dumper: type[yaml.SafeDumper] | type[yaml.CSafeDumper] = getattr(
    yaml, "CSafeDumper", yaml.SafeDumper
)

# Kinds the Kubernetes API serves without a namespace (kubectl api-resources --namespaced=false).
CLUSTER_SCOPED_KINDS = frozenset(
    {
        ("", "ComponentStatus"),
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("authentication.k8s.io", "SelfSubjectReview"),
        ("authentication.k8s.io", "TokenReview"),
        ("authorization.k8s.io", "SelfSubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectRulesReview"),
        ("authorization.k8s.io", "SubjectAccessReview"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("node.k8s.io", "RuntimeClass"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("resource.k8s.io", "DeviceClass"),
        ("resource.k8s.io", "ResourceSlice"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("storage.k8s.io", "VolumeAttributesClass"),
    }
)

_UNSAFE = re.compile(r"[^a-z0-9._-]+")
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]{0,62}")
_MAX_NAME = 120


@dataclass(frozen=True, order=True)
class ResourceId:
    """What makes a resource itself in a cluster."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{kind} {self.namespace}/{self.name}" if self.namespace else f"{kind} {self.name}"


@dataclass(frozen=True)
class Resource:
    """One rendered document, normalised, with where it came from."""

    id: ResourceId
    source: str
    body: Mapping[str, Any] = field(compare=False)
    text: str


@dataclass(frozen=True)
class RenderedTree:
    """One environment's files as they go on the rendered branch (paths relative to `<env>/`)."""

    environment: str
    files: Mapping[str, bytes]
    resources: tuple[Resource, ...]
    notes: tuple[str, ...] = ()


def load_documents(text: str, *, where: str) -> list[dict[str, Any]]:
    """The non-empty documents of a YAML stream; `kind: List` is unpacked."""
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise RenderError(
            f"{where}: the rendered output is not valid YAML: {_yaml_problem(exc)}"
        ) from None
    found: list[dict[str, Any]] = []
    for number, document in enumerate(documents, start=1):
        if document is None or document == {}:
            continue
        if not isinstance(document, dict):
            raise RenderError(
                f"{where}: rendered document {number} is a {type(document).__name__}, not a mapping"
            )
        if document.get("kind") == "List" and isinstance(document.get("items"), list):
            found.extend(item for item in document["items"] if item)
        else:
            found.append(document)
    return found


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """What the YAML parser objected to and where, without the line it quotes (which may be
    a Secret's value)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem


def dump(body: Mapping[str, Any]) -> str:
    """Block-style YAML in the key order given, ending in one newline."""
    return yaml.dump(
        body,
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=4096,
    )


def group_of(api_version: str) -> str:
    """The API group of an apiVersion ("apps/v1" -> "apps", "v1" -> "")."""
    return api_version.rpartition("/")[0]


def cluster_scoped_crds(documents: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """(group, kind) of every CRD in a render that declares `scope: Cluster`."""
    found = set()
    for doc in documents:
        if doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc.get("spec") or {}
        if spec.get("scope") == "Cluster":
            found.add((str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", ""))))
    return found


def _identify(doc: Mapping[str, Any], where: str, number: int) -> tuple[str, str, str]:
    kind = doc.get("kind")
    api_version = doc.get("apiVersion")
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    fields = {"apiVersion": api_version, "kind": kind, "metadata.name": name}
    missing = [field for field, value in fields.items() if not isinstance(value, str)]
    if missing:
        # Never the document itself: it may be a Secret, and this message reaches CI logs.
        shown = f" (a {kind})" if isinstance(kind, str) and _KIND.fullmatch(kind) else ""
        raise RenderError(
            f"{where}: rendered document {number}{shown} lacks {', '.join(missing)}: "
            "every resource needs apiVersion, kind and metadata.name"
        )
    return group_of(str(api_version)), str(kind), str(name)


def parse(
    text: str,
    *,
    source: str,
    namespace: str | None,
    cluster_scoped: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
    where: str,
) -> list[Resource]:
    """Rendered YAML into resources; namespaced ones without a namespace get `namespace`.

    That is what `helm install` does for a chart that leaves `metadata.namespace` out, so each file
    applies as it is. Cluster-scoped kinds (built in, or a CRD here with `scope: Cluster`) get none.
    """
    documents = load_documents(text, where=where)
    return parse_documents(
        documents, source=source, namespace=namespace, cluster_scoped=cluster_scoped, where=where
    )


def parse_documents(
    documents: Sequence[Mapping[str, Any]],
    *,
    source: str,
    namespace: str | None,
    cluster_scoped: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
    where: str,
) -> list[Resource]:
    """`parse` for documents already loaded (a caller that needed them first parses once)."""
    scoped = CLUSTER_SCOPED_KINDS | cluster_scoped_crds(documents) | set(cluster_scoped)
    resources = []
    for number, doc in enumerate(documents, start=1):
        group, kind, name = _identify(doc, where, number)
        metadata = doc["metadata"]
        if (group, kind) in scoped:
            resource_ns = ""
        else:
            resource_ns = metadata.get("namespace") or namespace or ""
            if resource_ns and not metadata.get("namespace"):
                doc = {**doc, "metadata": {**metadata, "namespace": resource_ns}}
        rid = ResourceId(group, kind, str(resource_ns), name)
        resources.append(Resource(rid, source, doc, dump(doc)))
    return resources


def sanitise(name: str) -> str:
    """A file-name-safe form of a Kubernetes name: lower case, [a-z0-9._-], never a dot path."""
    cleaned = _UNSAFE.sub("-", name.lower()).strip("-.") or "unnamed"
    if len(cleaned) > _MAX_NAME:
        digest = hashlib.sha256(name.encode()).hexdigest()[:10]
        cleaned = f"{cleaned[:_MAX_NAME]}-{digest}"
    return cleaned


def _file_name(resource: Resource, with_namespace: bool) -> str:
    parts = [resource.id.kind]
    if with_namespace and resource.id.namespace:
        parts.append(resource.id.namespace)
    parts.append(resource.id.name)
    return f"{sanitise(resource.source)}/{'-'.join(sanitise(p) for p in parts)}.yaml"


def _merge_sources(
    resources: Sequence[Resource], environment: str
) -> tuple[list[Resource], list[str]]:
    """One resource per identity: identical copies from several sources are kept once."""
    by_id: dict[ResourceId, list[Resource]] = defaultdict(list)
    for resource in resources:
        by_id[resource.id].append(resource)
    kept, notes = [], []
    for rid, copies in by_id.items():
        first = copies[0]
        for other in copies[1:]:
            if other.source == first.source:
                raise RenderError(
                    f"{environment}: {first.source} renders {rid} twice: "
                    "a chart or kustomization emits the same resource more than once"
                )
            if other.text != first.text:
                raise InputError(
                    f"{environment}: {rid} is rendered by both {first.source!r} and "
                    f"{other.source!r} with different content: remove it from one of them"
                )
        if len(copies) > 1:
            sources = ", ".join(c.source for c in copies)
            notes.append(f"{environment}: {rid} is rendered identically by {sources}; kept once")
        kept.append(first)
    return kept, notes


def layout(environment: str, resources: Sequence[Resource]) -> RenderedTree:
    """Lay resources out one per file as `<source>/<kind>-<name>.yaml`.

    The namespace joins a file name only where two resources would otherwise share it; a clash
    that remains is an error, never an overwrite.
    """
    ordered = sorted(resources, key=lambda r: (r.source, r.id))
    kept, notes = _merge_sources(ordered, environment)
    by_short: dict[str, list[Resource]] = defaultdict(list)
    for resource in kept:
        by_short[_file_name(resource, with_namespace=False)].append(resource)
    files: dict[str, bytes] = {}
    owners: dict[str, Resource] = {}
    for short, group in by_short.items():
        for resource in group:
            path = short if len(group) == 1 else _file_name(resource, with_namespace=True)
            if path in owners:
                raise InputError(
                    f"{environment}: {owners[path].id} and {resource.id} would both be written "
                    f"to {environment}/{path}: rename one of them"
                )
            owners[path] = resource
            files[path] = resource.text.encode()
    return RenderedTree(
        environment,
        dict(sorted(files.items())),
        tuple(sorted(kept, key=lambda r: (r.source, r.id))),
        tuple(notes),
    )


# --- secret redaction ---------------------------------------------------------------------

SECRET_FIELDS = ("data", "stringData")


@dataclass(frozen=True)
class SecretKeyChange:
    """What happened to one key of a Secret's `data` or `stringData`: never its value."""

    field: str
    key: str
    status: str  # added, removed, changed or unchanged
    old_size: int | None
    new_size: int | None


def is_secret(rid: ResourceId) -> bool:
    return rid.group == "" and rid.kind == "Secret"


def _secret_value(field_name: str, value: Any) -> bytes:
    """The bytes a key holds: `data` is base64 (kept raw where it does not decode)."""
    raw = value if isinstance(value, str) else dump(value)
    if field_name == "data":
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return raw.encode()
    return raw.encode()


def _secret_values(body: Mapping[str, Any] | None) -> dict[tuple[str, str], bytes]:
    values: dict[tuple[str, str], bytes] = {}
    for field_name in SECRET_FIELDS:
        section = (body or {}).get(field_name)
        if isinstance(section, Mapping):
            for key, value in section.items():
                values[field_name, str(key)] = _secret_value(field_name, value)
        elif section is not None:
            values[field_name, ""] = _secret_value(field_name, section)
    return values


def redact_secret(body: Mapping[str, Any]) -> dict[str, Any]:
    """A Secret with each `data`/`stringData` value replaced by its size: safe to print.

    Nothing derived from a value (a hash, a prefix) is kept: a short secret's hash is as good as
    the secret to anyone who can guess candidates.
    """
    redacted = redact_annotations(body) or dict(body)
    for field_name in SECRET_FIELDS:
        section = body.get(field_name)
        if isinstance(section, Mapping):
            redacted[field_name] = {
                key: f"<redacted: {len(_secret_value(field_name, value))} bytes>"
                for key, value in section.items()
            }
        elif section is not None:
            redacted[field_name] = "<redacted>"
    return redacted


def redact_annotations(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """Any resource with the Secrets serialized in its annotations redacted (kubectl's
    `last-applied-configuration` holds the whole object as JSON, data included); None when
    no annotation holds one."""
    metadata = body.get("metadata")
    if not isinstance(metadata, Mapping):
        return None
    annotations = metadata.get("annotations")
    if not isinstance(annotations, Mapping):
        return None
    redacted = {key: _redact_serialized(value) for key, value in annotations.items()}
    if all(redacted[key] is value for key, value in annotations.items()):
        return None
    return {**body, "metadata": {**metadata, "annotations": redacted}}


def _redact_serialized(value: Any) -> Any:
    """An annotation's value, with any Secret it serializes (alone or in a List) redacted."""
    if not isinstance(value, str) or not value.lstrip().startswith(("{", "[")):
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    redacted = _redact_object(parsed)
    if redacted == parsed:
        return value
    return json.dumps(redacted, separators=(",", ":")) + ("\n" if value.endswith("\n") else "")


def _redact_object(node: Any) -> Any:
    if isinstance(node, list):
        return [_redact_object(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("kind") == "Secret" and group_of(str(node.get("apiVersion", ""))) == "":
        return redact_secret(node)
    redacted = redact_annotations(node) or node
    if isinstance(node.get("items"), list):
        return {**redacted, "items": _redact_object(node["items"])}
    return redacted


def secret_key_changes(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> tuple[SecretKeyChange, ...]:
    """Each key of two versions of a Secret (None: absent) as added/removed/changed/unchanged."""
    before, after = _secret_values(old), _secret_values(new)
    changes = []
    for field_name, key in sorted(before.keys() | after.keys()):
        was, now = before.get((field_name, key)), after.get((field_name, key))
        if was is None:
            status = "added"
        elif now is None:
            status = "removed"
        else:
            status = "unchanged" if was == now else "changed"
        changes.append(
            SecretKeyChange(
                field_name,
                key,
                status,
                None if was is None else len(was),
                None if now is None else len(now),
            )
        )
    return tuple(changes)
