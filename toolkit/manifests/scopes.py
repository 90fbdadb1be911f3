"""Which kinds Kubernetes serves without a namespace: built in, well known, or declared.

A kind is cluster-scoped when the API server serves it so (the built-in kinds below), when a
CRD in the same environment says `scope: Cluster`, when it is one of the well-known custom
kinds below (their CRDs are often installed by another release or environment), or when
toolkit.yaml's `clusterScopedKinds` names it. Any other kind is taken as namespaced.
"""

from __future__ import annotations

from collections.abc import Collection

GroupKind = tuple[str, str]

# `kubectl api-resources --namespaced=false` of Kubernetes 1.33.
BUILT_IN: frozenset[GroupKind] = frozenset(
    {
        ("", "ComponentStatus"),
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
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
        ("internal.apiserver.k8s.io", "StorageVersion"),
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
        ("storagemigration.k8s.io", "StorageVersionMigration"),
    }
)

# Custom kinds whose CRDs (as their projects publish them) say `scope: Cluster`.
WELL_KNOWN: frozenset[GroupKind] = frozenset(
    {
        ("argoproj.io", "ClusterWorkflowTemplate"),  # Argo Workflows
        ("cert-manager.io", "ClusterIssuer"),
        ("trust.cert-manager.io", "Bundle"),  # trust-manager
        ("trust-manager.io", "ClusterBundle"),
        ("external-secrets.io", "ClusterExternalSecret"),
        ("external-secrets.io", "ClusterPushSecret"),
        ("external-secrets.io", "ClusterSecretStore"),
        ("generators.external-secrets.io", "ClusterGenerator"),
        ("gateway.networking.k8s.io", "GatewayClass"),
        ("gateway.networking.x-k8s.io", "XMesh"),
        ("karpenter.sh", "NodeClaim"),
        ("karpenter.sh", "NodeOverlay"),
        ("karpenter.sh", "NodePool"),
        ("keda.sh", "ClusterTriggerAuthentication"),
        ("eventing.keda.sh", "ClusterCloudEventSource"),
        ("kyverno.io", "ClusterCleanupPolicy"),
        ("kyverno.io", "ClusterPolicy"),
        ("kyverno.io", "GlobalContextEntry"),
        ("policies.kyverno.io", "DeletingPolicy"),
        ("policies.kyverno.io", "GeneratingPolicy"),
        ("policies.kyverno.io", "ImageValidatingPolicy"),
        ("policies.kyverno.io", "MutatingPolicy"),
        ("policies.kyverno.io", "ValidatingPolicy"),
        ("reports.kyverno.io", "ClusterEphemeralReport"),
        ("wgpolicyk8s.io", "ClusterPolicyReport"),
        ("snapshot.storage.k8s.io", "VolumeSnapshotClass"),
        ("snapshot.storage.k8s.io", "VolumeSnapshotContent"),
        ("groupsnapshot.storage.k8s.io", "VolumeGroupSnapshotClass"),
        ("groupsnapshot.storage.k8s.io", "VolumeGroupSnapshotContent"),
        ("templates.gatekeeper.sh", "ConstraintTemplate"),  # OPA Gatekeeper
        ("expansion.gatekeeper.sh", "ExpansionTemplate"),
        ("externaldata.gatekeeper.sh", "Provider"),
        ("mutations.gatekeeper.sh", "Assign"),
        ("mutations.gatekeeper.sh", "AssignImage"),
        ("mutations.gatekeeper.sh", "AssignMetadata"),
        ("mutations.gatekeeper.sh", "ModifySet"),
        ("syncset.gatekeeper.sh", "SyncSet"),
    }
)

# Groups all of whose kinds are cluster-scoped: Gatekeeper makes one CRD per ConstraintTemplate.
WELL_KNOWN_GROUPS = frozenset({"constraints.gatekeeper.sh"})


def is_cluster_scoped(group: str, kind: str, known: Collection[GroupKind]) -> bool:
    """Whether (group, kind) is served without a namespace; `known` adds the environment's own
    CRDs with `scope: Cluster` and toolkit.yaml's `clusterScopedKinds`."""
    key = (group, kind)
    return key in BUILT_IN or key in WELL_KNOWN or group in WELL_KNOWN_GROUPS or key in known
