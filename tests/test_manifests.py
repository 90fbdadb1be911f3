from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from toolkit import manifests
from toolkit.errors import InputError, RenderError

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
    text: str, source: str = "api", namespace: str | None = "api"
) -> list[manifests.Resource]:
    return manifests.parse(text, source=source, namespace=namespace, where="test")


def test_parse_drops_empty_documents_and_source_comments() -> None:
    resources = parse(HELM_OUTPUT)
    assert [r.id.kind for r in resources] == ["ServiceAccount", "ClusterRole", "Deployment"]
    assert all("# Source" not in r.text for r in resources)
    assert resources[2].text == (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n"
        "  namespace: elsewhere\nspec:\n  replicas: 2\n"
    )


def test_namespace_is_filled_only_where_missing_and_only_for_namespaced_kinds() -> None:
    account, role, deployment = parse(HELM_OUTPUT)
    assert account.body["metadata"]["namespace"] == "api"
    assert account.id == manifests.ResourceId("", "ServiceAccount", "api", "api")
    assert "namespace" not in role.body["metadata"]
    assert role.id.namespace == ""
    assert deployment.id.namespace == "elsewhere"


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


def test_kind_list_is_unpacked() -> None:
    text = (
        "apiVersion: v1\nkind: List\n"
        "items:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
    )
    (resource,) = parse(text)
    assert resource.id.name == "a"


@pytest.mark.parametrize(
    "text",
    ["- just\n- a list\n", "apiVersion: v1\nkind: ConfigMap\n", "key: [unclosed\n"],
)
def test_documents_that_are_not_resources_are_render_errors(text: str) -> None:
    with pytest.raises(RenderError, match="test: "):
        parse(text)


def test_layout_one_resource_per_file_named_by_kind_and_name() -> None:
    tree = manifests.layout("dev", parse(HELM_OUTPUT))
    assert list(tree.files) == [
        "api/clusterrole-api-reader.yaml",
        "api/deployment-api.yaml",
        "api/serviceaccount-api.yaml",
    ]
    assert yaml.safe_load(tree.files["api/deployment-api.yaml"])["spec"] == {"replicas": 2}


def test_namespace_joins_the_name_only_on_a_collision() -> None:
    text = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: a}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: alone}
"""
    tree = manifests.layout("dev", parse(text))
    assert sorted(tree.files) == [
        "api/configmap-a-settings.yaml",
        "api/configmap-alone.yaml",
        "api/configmap-b-settings.yaml",
    ]


def test_names_that_try_to_leave_the_environment_are_sanitised() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ../../etc/passwd}\n"
    tree = manifests.layout("dev", parse(text, source="../evil"))
    (path,) = tree.files
    assert path == "evil/configmap-etc-passwd.yaml"


def test_a_collision_left_after_sanitising_is_an_error() -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 'a:b', namespace: x}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a-b, namespace: x}\n"
    )
    with pytest.raises(InputError, match=r"would both be written to dev/api/configmap-x-a-b\.yaml"):
        manifests.layout("dev", parse(text))


def test_identical_resource_from_two_sources_is_kept_once_with_a_note() -> None:
    crd = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: things.example.com}\nspec: {group: example.com, scope: Namespaced}\n"
    )
    tree = manifests.layout("dev", parse(crd, source="one") + parse(crd, source="two"))
    assert list(tree.files) == ["one/customresourcedefinition-things.example.com.yaml"]
    assert tree.notes == (
        "dev: CustomResourceDefinition.apiextensions.k8s.io things.example.com "
        "is rendered identically by one, two; kept once",
    )


def test_different_resource_with_the_same_identity_from_two_sources_is_an_error() -> None:
    a = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {k: a}\n"
    b = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {k: b}\n"
    with pytest.raises(InputError, match="rendered by both 'one' and 'two'"):
        manifests.layout("dev", parse(a, source="one") + parse(b, source="two"))


names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=300
)


@given(names)
def test_sanitised_names_never_form_a_path(name: str) -> None:
    cleaned = manifests.sanitise(name)
    assert cleaned and "/" not in cleaned and cleaned not in {".", ".."}
    assert not cleaned.startswith(".")
    assert len(cleaned) <= 131


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ConfigMap", "Secret", "Service"]),
            st.sampled_from(["a", "b", "c-1", "c.1"]),
            st.sampled_from(["x", "y"]),
        ),
        unique=True,
        max_size=12,
    )
)
def test_layout_is_one_file_per_resource_and_order_independent(
    triples: list[tuple[str, str, str]],
) -> None:
    text = "".join(
        f"---\napiVersion: v1\nkind: {k}\nmetadata: {{name: {n}, namespace: {ns}}}\n"
        for k, n, ns in triples
    )
    resources = parse(text)
    forward = manifests.layout("dev", resources)
    backward = manifests.layout("dev", list(reversed(resources)))
    assert forward.files == backward.files
    assert len(forward.files) == len(triples)
    assert all(path.startswith("api/") and ".." not in path for path in forward.files)


# --- secret redaction ---------------------------------------------------------------------

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: creds
data:
  password: cGxhbnRlZC12YWx1ZQ==
  broken: not base64!
stringData:
  token: plain-planted
"""


def test_redact_secret_keeps_keys_and_sizes_only() -> None:
    (secret,) = parse(SECRET)
    assert manifests.is_secret(secret.id)
    redacted = manifests.redact_secret(secret.body)
    assert redacted["data"] == {
        "password": "<redacted: 13 bytes>",
        "broken": "<redacted: 11 bytes>",
    }
    assert redacted["stringData"] == {"token": "<redacted: 13 bytes>"}
    assert redacted["metadata"] == secret.body["metadata"]
    printed = manifests.dump(redacted)
    for value in ("cGxhbnRlZC12YWx1ZQ==", "planted-value", "not base64!", "plain-planted"):
        assert value not in printed
    assert secret.body["data"]["password"] == "cGxhbnRlZC12YWx1ZQ=="  # the original is untouched


def test_redact_secret_hides_a_data_field_that_is_not_a_mapping() -> None:
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "data": "c2VjcmV0"}
    assert manifests.redact_secret(body)["data"] == "<redacted>"


def test_secret_key_changes_compare_decoded_values() -> None:
    (old,) = parse(SECRET)
    new = dict(old.body)
    # The same bytes written as stringData-equivalent base64 with other padding is no change.
    new["data"] = {"password": "cGxhbnRlZC12YWx1ZQ==", "added": "eA=="}
    new["stringData"] = {"token": "plain-planted-2"}
    changes = manifests.secret_key_changes(old.body, new)
    assert [(c.field, c.key, c.status, c.old_size, c.new_size) for c in changes] == [
        ("data", "added", "added", None, 1),
        ("data", "broken", "removed", 11, None),
        ("data", "password", "unchanged", 13, 13),
        ("stringData", "token", "changed", 13, 15),
    ]
    assert all(c.status == "added" for c in manifests.secret_key_changes(None, old.body))
