"""API versions Kubernetes removed or deprecated, from its deprecation guide
(kubernetes.io/docs/reference/using-api/deprecation-guide): data, checked against the
environment's `kubeVersion` whether or not schemas for that version are available."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetiredApi:
    api_version: str
    kinds: frozenset[str]
    deprecated_in: tuple[int, int]
    removed_in: tuple[int, int]
    replacement: str | None  # the apiVersion to move to; None: the kind itself is gone


def _retired(api: str, kinds: str, deprecated: str, removed: str, use: str | None) -> RetiredApi:
    def minor(text: str) -> tuple[int, int]:
        major, minor_part = text.split(".")
        return int(major), int(minor_part)

    return RetiredApi(api, frozenset(kinds.split()), minor(deprecated), minor(removed), use)


RETIRED = (
    _retired("extensions/v1beta1", "Deployment DaemonSet ReplicaSet", "1.9", "1.16", "apps/v1"),
    _retired("apps/v1beta1", "Deployment StatefulSet ReplicaSet", "1.9", "1.16", "apps/v1"),
    _retired(
        "apps/v1beta2", "Deployment StatefulSet DaemonSet ReplicaSet", "1.9", "1.16", "apps/v1"
    ),
    _retired("extensions/v1beta1", "NetworkPolicy", "1.9", "1.16", "networking.k8s.io/v1"),
    _retired("extensions/v1beta1", "PodSecurityPolicy", "1.10", "1.16", "policy/v1beta1"),
    _retired(
        "admissionregistration.k8s.io/v1beta1",
        "MutatingWebhookConfiguration ValidatingWebhookConfiguration",
        "1.16",
        "1.22",
        "admissionregistration.k8s.io/v1",
    ),
    _retired(
        "apiextensions.k8s.io/v1beta1",
        "CustomResourceDefinition",
        "1.16",
        "1.22",
        "apiextensions.k8s.io/v1",
    ),
    _retired(
        "apiregistration.k8s.io/v1beta1", "APIService", "1.19", "1.22", "apiregistration.k8s.io/v1"
    ),
    _retired(
        "authentication.k8s.io/v1beta1", "TokenReview", "1.19", "1.22", "authentication.k8s.io/v1"
    ),
    _retired(
        "authorization.k8s.io/v1beta1",
        "SubjectAccessReview LocalSubjectAccessReview SelfSubjectAccessReview",
        "1.19",
        "1.22",
        "authorization.k8s.io/v1",
    ),
    _retired(
        "certificates.k8s.io/v1beta1",
        "CertificateSigningRequest",
        "1.19",
        "1.22",
        "certificates.k8s.io/v1",
    ),
    _retired("coordination.k8s.io/v1beta1", "Lease", "1.19", "1.22", "coordination.k8s.io/v1"),
    _retired("extensions/v1beta1", "Ingress", "1.14", "1.22", "networking.k8s.io/v1"),
    _retired(
        "networking.k8s.io/v1beta1", "Ingress IngressClass", "1.19", "1.22", "networking.k8s.io/v1"
    ),
    _retired(
        "rbac.authorization.k8s.io/v1beta1",
        "ClusterRole ClusterRoleBinding Role RoleBinding",
        "1.17",
        "1.22",
        "rbac.authorization.k8s.io/v1",
    ),
    _retired("scheduling.k8s.io/v1beta1", "PriorityClass", "1.14", "1.22", "scheduling.k8s.io/v1"),
    _retired(
        "storage.k8s.io/v1beta1",
        "CSIDriver CSINode StorageClass VolumeAttachment",
        "1.19",
        "1.22",
        "storage.k8s.io/v1",
    ),
    _retired("batch/v1beta1", "CronJob", "1.21", "1.25", "batch/v1"),
    _retired("discovery.k8s.io/v1beta1", "EndpointSlice", "1.21", "1.25", "discovery.k8s.io/v1"),
    _retired("events.k8s.io/v1beta1", "Event", "1.21", "1.25", "events.k8s.io/v1"),
    _retired("autoscaling/v2beta1", "HorizontalPodAutoscaler", "1.22", "1.25", "autoscaling/v2"),
    _retired("policy/v1beta1", "PodDisruptionBudget", "1.21", "1.25", "policy/v1"),
    _retired("policy/v1beta1", "PodSecurityPolicy", "1.21", "1.25", None),
    _retired("node.k8s.io/v1beta1", "RuntimeClass", "1.20", "1.25", "node.k8s.io/v1"),
    _retired(
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "FlowSchema PriorityLevelConfiguration",
        "1.23",
        "1.26",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    _retired("autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.23", "1.26", "autoscaling/v2"),
    _retired("storage.k8s.io/v1beta1", "CSIStorageCapacity", "1.24", "1.27", "storage.k8s.io/v1"),
    _retired(
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "FlowSchema PriorityLevelConfiguration",
        "1.26",
        "1.29",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
    _retired(
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "FlowSchema PriorityLevelConfiguration",
        "1.29",
        "1.32",
        "flowcontrol.apiserver.k8s.io/v1",
    ),
)


def retired(api_version: str, kind: str) -> RetiredApi | None:
    """The deprecation record of `kind` at `api_version`, if Kubernetes retired it."""
    return next((r for r in RETIRED if r.api_version == api_version and kind in r.kinds), None)


def version_text(minor: tuple[int, int]) -> str:
    return f"{minor[0]}.{minor[1]}"
