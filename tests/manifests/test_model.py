from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.infra.errors import InputError, RenderError
from toolkit.manifests import layout, model

HELM_OUTPUT = """\
---
# Source: api/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: api
---
# Source: api/templates/clusterrole.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: api-reader
rules: []
---
# Source: api/templates/empty.yaml
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: elsewhere
spec: {replicas: 2}
"""


def parse(
    text: str, source: str = "api", namespace: str | None = "api", **kwargs: Any
) -> list[model.Resource]:
    return model.parse(text, source=source, namespace=namespace, where="test", **kwargs)


def test_the_renderers_text_is_kept_with_only_the_namespace_added() -> None:
    account, role, deployment = parse(HELM_OUTPUT)

    assert [r.id.kind for r in (account, role, deployment)] == [
        "ServiceAccount",
        "ClusterRole",
        "Deployment",
    ]
    # The namespace joins after the name; the rest is as printed, helm's `# Source:` included.
    assert account.text == (
        "# Source: api/templates/serviceaccount.yaml\n"
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api\n  namespace: api\n"
    )
    assert role.text == (
        "# Source: api/templates/clusterrole.yaml\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n"
        "  name: api-reader\nrules: []\n"
    )
    assert deployment.text == (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n"
        "  namespace: elsewhere\nspec: {replicas: 2}\n"
    )


def test_namespace_is_filled_only_where_missing_and_only_for_namespaced_kinds() -> None:
    account, role, deployment = parse(HELM_OUTPUT)
    assert account.body["metadata"]["namespace"] == "api"
    assert account.id == model.ResourceId("", "ServiceAccount", "api", "api")
    assert "namespace" not in role.body["metadata"]
    assert role.id.namespace == ""
    assert deployment.id.namespace == "elsewhere"


def test_an_empty_namespace_line_is_filled_in_place() -> None:
    (resource,) = parse("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: ''\n  name: a\n")

    assert (
        resource.text == "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: api\n  name: a\n"
    )


def test_a_namespace_that_would_read_as_another_type_is_quoted() -> None:
    (resource,) = parse("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n", namespace="no")

    assert '  namespace: "no"\n' in resource.text
    assert resource.body["metadata"]["namespace"] == "no"


def test_flow_style_metadata_is_written_anew_meaning_the_same() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {'n': 'n', t: '12:30'}\n"

    (resource,) = parse(text)

    assert resource.body == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "namespace": "api"},
        "data": {"n": "n", "t": "12:30"},
    }


def test_a_crd_with_cluster_scope_makes_its_kind_cluster_scoped() -> None:
    text = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: policies.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {kind: Policy}
---
apiVersion: example.com/v1
kind: Policy
metadata: {name: strict}
---
apiVersion: example.com/v1
kind: Other
metadata: {name: x}
"""
    crd, policy, other = parse(text)
    assert crd.id.namespace == "" and policy.id.namespace == ""
    assert "namespace" not in policy.body["metadata"]
    assert other.body["metadata"]["namespace"] == "api"


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("cert-manager.io/v1", "ClusterIssuer"),
        ("kyverno.io/v1", "ClusterPolicy"),
        ("templates.gatekeeper.sh/v1", "ConstraintTemplate"),
        ("constraints.gatekeeper.sh/v1beta1", "K8sRequiredLabels"),
        ("external-secrets.io/v1", "ClusterSecretStore"),
        ("gateway.networking.k8s.io/v1", "GatewayClass"),
    ],
)
def test_well_known_cluster_scoped_kinds_get_no_namespace(api_version: str, kind: str) -> None:
    (resource,) = parse(f"apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: a\n")

    assert resource.id.namespace == ""
    assert "namespace" not in resource.text


def test_kinds_declared_cluster_scoped_get_no_namespace() -> None:
    text = "apiVersion: example.com/v1\nkind: Fleet\nmetadata:\n  name: a\n"

    (declared,) = parse(text, cluster_scoped={("example.com", "Fleet")})
    (undeclared,) = parse(text)

    assert declared.id.namespace == "" and declared.text == text
    assert undeclared.id.namespace == "api"


def test_typed_lists_are_unpacked_as_kustomize_does() -> None:
    text = """\
apiVersion: v1
kind: ConfigMapList
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {a: "n", b: "1e3", c: "0o755"}}
- apiVersion: v1
  kind: List
  items:
  - {apiVersion: v1, kind: Secret, metadata: {name: inner}}
---
apiVersion: example.com/v1
kind: BarList
items: []
---
apiVersion: example.com/v1
kind: FooList
metadata: {name: not-a-list}
spec: {}
"""
    resources = parse(text)

    assert [r.id.name for r in resources] == ["a", "inner", "not-a-list"]
    assert resources[0].body["data"] == {"a": "n", "b": "1e3", "c": "0o755"}
    assert resources[0].body["metadata"] == {"name": "a", "namespace": "api"}


def test_a_typed_list_whose_items_are_not_a_list_is_a_render_error() -> None:
    with pytest.raises(RenderError, match=r"^test, line 1: List's items is not a list$"):
        parse("apiVersion: v1\nkind: List\nitems: oops\n")


@pytest.mark.parametrize(
    "text",
    ["- just\n- a list\n", "apiVersion: v1\nkind: ConfigMap\n", "key: [unclosed\n"],
)
def test_documents_that_are_not_resources_are_render_errors(text: str) -> None:
    with pytest.raises(RenderError, match=r"^test, line \d: "):
        parse(text)


def test_a_document_nested_too_deeply_is_one_render_error() -> None:
    body = "".join(f"{'  ' * i}k:\n" for i in range(900)) + f"{'  ' * 900}v\n"
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n{body}"
    flow = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata: "
        + "[" * 900
        + "]" * 900
        + "\n"
    )

    for document in (text, flow):
        with pytest.raises(
            RenderError, match=r"^test, line \d+: .*nested more than 200 levels deep"
        ):
            parse("---\n" + document, source="api")


def test_a_separator_followed_by_content_is_refused_as_kubernetes_refuses_it() -> None:
    with pytest.raises(
        RenderError, match=r"^test, line 2: a document separator followed by content"
    ):
        parse("apiVersion: v1\n--- |\n  text\n")


def test_resources_that_coexist_in_a_cluster_get_distinct_files() -> None:
    text = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: istio-ingress}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: istio-ingress}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "monitoring:view"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring-view}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: podinfo, namespace: backend}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: podinfo, namespace: frontend}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: backend-podinfo, namespace: other}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: alone}
"""
    tree = layout.layout("dev", parse(text))

    names = sorted(tree.files)
    hashed = [n for n in names if n.startswith("api/clusterrole-monitoring-view-")]
    assert names == sorted(
        [
            "api/configmap-alone.yaml",
            "api/configmap-backend-podinfo.yaml",
            "api/configmap-backend_podinfo.yaml",
            "api/configmap-frontend_podinfo.yaml",
            "api/gateway.gateway.networking.k8s.io-public.yaml",
            "api/gateway.networking.istio.io-public.yaml",
            *hashed,
        ]
    )
    assert len(hashed) == 2


def test_names_that_try_to_leave_the_environment_are_sanitised() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ../../etc/passwd}\n"
    tree = layout.layout("dev", parse(text, source="../evil"))
    (path,) = tree.files
    assert path == "evil/configmap-etc-passwd.yaml"


def test_identical_resource_from_two_sources_is_kept_once_with_a_note() -> None:
    crd = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: things.example.com}\nspec: {group: example.com, scope: Namespaced}\n"
    )
    other = crd.replace(
        "{group: example.com, scope: Namespaced}", "\n  group: example.com\n  scope: Namespaced"
    )
    tree = layout.layout("dev", parse(crd, source="one") + parse(other, source="two"))
    assert list(tree.files) == ["one/customresourcedefinition-things.example.com.yaml"]
    assert tree.notes == (
        "dev: CustomResourceDefinition.apiextensions.k8s.io things.example.com "
        "is rendered identically by one, two; kept once",
    )


def test_different_resource_with_the_same_identity_from_two_sources_is_an_error() -> None:
    a = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {k: a}\n"
    b = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {k: b}\n"
    with pytest.raises(InputError, match="rendered by both 'one' and 'two'"):
        layout.layout("dev", parse(a, source="one") + parse(b, source="two"))


names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=300
)


@given(names)
def test_sanitised_names_never_form_a_path(name: str) -> None:
    cleaned = layout.sanitise(name)
    assert cleaned and "/" not in cleaned and cleaned not in {".", ".."}
    assert not cleaned.startswith(".") and "_" not in cleaned
    assert len(cleaned) <= 131


identities = st.lists(
    st.tuples(
        st.sampled_from(["", "apps", "example.com", "example.com-x", "x.example.com"]),
        st.sampled_from(["ConfigMap", "configmap", "Gateway", "Service"]),
        st.sampled_from(["", "x", "y", "x-a", "a"]),
        st.sampled_from(["a", "A", "a:b", "a-b", "a_b", "x-a", "b", "x_a", "c.1"]),
    ),
    unique=True,
    max_size=14,
)


@given(identities)
def test_layout_gives_every_identity_its_own_file_whatever_the_order(
    ids: list[tuple[str, str, str, str]],
) -> None:
    resources = [
        model.Resource(model.ResourceId(*rid), "api", f"# {rid}\n".encode()) for rid in ids
    ]
    forward = layout.layout("dev", resources)
    backward = layout.layout("dev", list(reversed(resources)))
    assert forward.files == backward.files
    assert len(forward.files) == len(ids)
    assert all(path.startswith("api/") and ".." not in path for path in forward.files)
