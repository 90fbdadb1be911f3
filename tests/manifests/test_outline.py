"""The line scan of a rendered document reads what a YAML parser reads, or says it cannot."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.infra import kubeyaml
from toolkit.manifests import outline

# Documents that take the scan's every turn: quoted scalars and flow collections running over
# lines that look like keys, block scalars whose bodies look like keys, multi-line plain values,
# duplicates, merges, anchors, tags, typed values, complex keys, directives.
CASES = {
    "q1": (
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    a: "foo\n'
        '  name: evil\n  b: y"\n  name: real\n'
    ),
    "q2": (
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    a: "foo\n'
        'kind: Evil\nx: y"\n  name: real\n'
    ),
    "q3": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    a: [foo,\n"
        "  name: evil,\n  b]\n  name: real\n"
    ),
    "multiplain": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: foo\n    bar\n",
    "emptyname": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name:\n    foo\n",
    "sqmulti": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    a: 'it''s\n"
        "      fine'\n  name: x\n"
    ),
    "sqmulti_bad": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    a: 'x\n"
        "  name: evil\n    '\n  name: real\n"
    ),
    "dqkey": '"apiVersion": v1\n\'kind\': ConfigMap\nmetadata:\n  "name": x\n',
    "dup": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n",
    "merge": "apiVersion: v1\nkind: ConfigMap\nbase: &m {name: a}\nmetadata:\n  <<: *m\n",
    "merge2": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  <<: {name: b}\n",
    "flowmeta": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    "anchor": "apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: a\n",
    "tagged": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: !!str 123\n",
    "numname": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 123\n",
    "boolns": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: y\n",
    "nullns": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: ~\n",
    "blockname": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: |\n    a\n",
    "blockfake": (
        "apiVersion: v1\nkind: ConfigMap\ndata:\n  x: |\n    metadata:\n      name: evil\n"
        "metadata:\n  name: real\n"
    ),
    "blockfake2": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    x: |\n  name: real\n",
    "blockind": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    x: |2\n"
        "        deep\n  name: real\n"
    ),
    "dashblock": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: real\ndata:\n- |\n"
        '  {"a": [1,\n  2]}\n- x\n'
    ),
    "comment": "# c\napiVersion: v1 # c\nkind: ConfigMap\nmetadata: # c\n  # c\n  name: real # c\n",
    "tabs": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name:\tx\n",
    "seqns": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace:\n  - x\n",
    "dqmulti": (
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    a: "x\\\n'
        '      y"\n  name: real\n'
    ),
    "doc_end": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n...\nkind: Other\n",
    "directive": "%YAML 1.1\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
    "quotedns": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 'a'\n  namespace: \"\"\n",
    "complexkey": "apiVersion: v1\nkind: ConfigMap\n? metadata\n: name: a\n",
    "crd": (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
        "  name: x.example.com\nspec:\n  group: example.com\n  names:\n    kind: X\n"
        "    plural: xs\n  scope: Cluster\n  versions:\n  - name: v1\n    schema:\n"
        "      openAPIV3Schema:\n        properties:\n          spec:\n            enum:\n"
        "            - =\n            - =~\n"
    ),
    "crdflow": (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n"
        "  name: x.example.com\n"
        "spec: {group: example.com, names: {kind: X}, scope: Namespaced}\n"
    ),
    "seqitemdq": (
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: real\n  finalizers:\n  - "a\n    b"\n'
    ),
    "keydq_then_open": (
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    - "x": "y\n'
        '  name: evil\n    "\n  name: real\n'
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_outline_is_what_a_parser_reads_or_none(name: str) -> None:
    text = CASES[name]
    found = outline.scan(text)
    if found is None:
        return  # the caller parses the document in full
    body = kubeyaml.load(text)
    metadata = body["metadata"]
    assert (found.api_version, found.kind, found.name, found.namespace) == (
        body["apiVersion"],
        body["kind"],
        metadata["name"],
        metadata.get("namespace") or None,
    )
    if body["kind"] == "CustomResourceDefinition":
        spec = body["spec"]
        assert found.crd == (spec["group"], spec["names"]["kind"], spec["scope"])
    if not metadata.get("namespace"):
        filled = kubeyaml.load(found.with_namespace(text, "ns"))
        assert filled == {**body, "metadata": {**metadata, "namespace": "ns"}}


@pytest.mark.parametrize(
    "name", ["q1", "q2", "q3", "sqmulti_bad", "multiplain", "emptyname", "dup", "merge2", "seqns"]
)
def test_lines_that_only_look_like_keys_are_not_trusted(name: str) -> None:
    assert outline.scan(CASES[name]) is None


def test_common_shapes_are_read_without_a_parse() -> None:
    for name in ("sqmulti", "dqkey", "blockfake", "blockind", "dashblock", "comment", "crd"):
        assert outline.scan(CASES[name]) is not None, name


_fields = st.dictionaries(
    st.sampled_from(["a", "b", "name", "namespace", "kind", "x: y", "'q'", "- z", "[k]"]),
    st.one_of(
        st.text(alphabet="ab:#'\"[]{}|>- \n", max_size=12),
        st.lists(st.text(alphabet="ab:'\"[ \n", max_size=6), max_size=3),
        st.dictionaries(st.sampled_from(["name", "c"]), st.text(alphabet="ab\n'\"", max_size=6)),
    ),
    max_size=4,
)


@given(_fields, _fields, st.sampled_from(["ConfigMap", "CustomResourceDefinition"]))
def test_written_documents_are_outlined_as_parsed(
    spec: dict[str, object], metadata: dict[str, object], kind: str
) -> None:
    document = {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": "n", **metadata},
        "spec": spec,
    }
    text = kubeyaml.dump(document)
    found = outline.scan(text)
    if found is not None:
        body = kubeyaml.load(text)
        assert (found.kind, found.name) == (body["kind"], body["metadata"]["name"])
        assert found.namespace == (body["metadata"].get("namespace") or None)
