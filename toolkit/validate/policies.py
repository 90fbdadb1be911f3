"""Policies: house rules a resource can break while the API server would still take it.

Each is a function from one resource (and what the environment declares) to messages; the
severity is the user's choice in `toolkit.yaml` (`validate.policies.<name>: off|warning|error`).
To add one: write the function, add it to POLICIES with its default, document it in the README.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from toolkit.manifests.model import Resource


@dataclass(frozen=True)
class Scope:
    """What the whole environment tells a policy about one resource."""

    namespaces: frozenset[str]  # declared in the render, or listed as existing in toolkit.yaml


FieldPath = tuple[str | int, ...]
# A policy yields (the field at fault, or () for the whole resource; what is wrong).
Policy = Callable[[Resource, Scope], Iterator[tuple[FieldPath, str]]]

_POD_TEMPLATE_PATHS = (
    ("spec",),  # Pod
    ("spec", "template", "spec"),  # Deployment, StatefulSet, DaemonSet, Job, ReplicaSet
    ("spec", "jobTemplate", "spec", "template", "spec"),  # CronJob
)
_WORKLOAD_KINDS = frozenset(
    {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
)
_HELM_HOOK = "helm.sh/hook"


def _containers(resource: Resource) -> Iterator[tuple[FieldPath, Mapping[str, Any]]]:
    """(field path, container) of a built-in workload's containers and init containers."""
    if resource.id.group not in ("", "apps", "batch") or resource.id.kind not in _WORKLOAD_KINDS:
        return
    for path in _POD_TEMPLATE_PATHS:
        spec: Any = resource.body
        for key in path:
            spec = spec.get(key) if isinstance(spec, Mapping) else None
        if not isinstance(spec, Mapping) or not isinstance(spec.get("containers"), list):
            continue
        for section in ("initContainers", "containers"):
            for index, container in enumerate(spec.get(section) or ()):
                if isinstance(container, Mapping):
                    yield (*path, section, index), container
        return


def plain_secret(resource: Resource, scope: Scope) -> Iterator[tuple[FieldPath, str]]:
    if resource.id.group == "" and resource.id.kind == "Secret":
        yield (
            (),
            (
                "a plain Secret on the rendered branch: whoever reads the branch reads it; "
                "use a SealedSecret, an ExternalSecret or SOPS"
            ),
        )


def image_tag(resource: Resource, scope: Scope) -> Iterator[tuple[FieldPath, str]]:
    for where, container in _containers(resource):
        image = container.get("image")
        if not isinstance(image, str) or "@" in image:
            continue
        last = image.rsplit("/", 1)[-1]  # a registry's port is not a tag
        tag = last.rpartition(":")[2] if ":" in last else ""
        if tag in ("", "latest"):
            problem = "has no tag" if not tag else "uses ':latest'"
            yield (*where, "image"), f"image {image!r} {problem}: pin a version (or a digest)"


def undeclared_namespace(resource: Resource, scope: Scope) -> Iterator[tuple[FieldPath, str]]:
    namespace = resource.id.namespace
    if namespace and namespace not in scope.namespaces:
        yield (
            ("metadata", "namespace"),
            (
                f"namespace {namespace!r} is not declared in this environment: add a Namespace "
                "(createNamespace on the release), or list it in validate.namespaces"
            ),
        )


def helm_hook(resource: Resource, scope: Scope) -> Iterator[tuple[FieldPath, str]]:
    metadata = resource.body.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    if isinstance(annotations, Mapping) and _HELM_HOOK in annotations:
        yield (
            ("metadata", "annotations", _HELM_HOOK),
            (
                f"a helm hook ({annotations[_HELM_HOOK]}): Argo CD maps it to a sync hook, "
                "Flux applies it as a plain resource"
            ),
        )


def resource_requests(resource: Resource, scope: Scope) -> Iterator[tuple[FieldPath, str]]:
    for where, container in _containers(resource):
        resources = container.get("resources")
        requests = resources.get("requests") if isinstance(resources, Mapping) else None
        if not requests:
            yield where, f"container {container.get('name')!r} sets no resources.requests"


# Their names and default severities are toolkit.yaml's (config/checks.py, POLICY_DEFAULTS).
POLICIES: Mapping[str, Policy] = {
    "plain-secret": plain_secret,
    "image-tag": image_tag,
    "undeclared-namespace": undeclared_namespace,
    "helm-hook": helm_hook,
    "resource-requests": resource_requests,
}
