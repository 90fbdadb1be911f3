"""Custom resources against the `openAPIV3Schema` of their CustomResourceDefinition.

A CRD's schema is OpenAPI 3.0 with Kubernetes extensions; it is turned into the JSON Schema
(draft 4) the API server in effect applies: `nullable` admits null, `x-kubernetes-int-or-string`
admits both, and an object that lists its properties and does not preserve unknown fields
refuses others (strict field validation, as `kubectl apply` asks for by default).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs

from toolkit.validate.schemas import SchemaProblem, errors_of

_NESTED = ("allOf", "anyOf", "oneOf")
# The API server checks these itself for every object; CRD schemas rarely describe them.
_OBJECT_FIELDS = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {}}


@dataclass
class CustomSchemas:  # filled as CRDs are found, so not frozen
    """Every CRD an environment can see: (group, kind) -> served version -> its validator."""

    versions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    compiled: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    def add(self, crd: Mapping[str, Any]) -> None:
        spec = crd.get("spec")
        if not isinstance(spec, Mapping):
            return
        names = spec.get("names")
        kind = names.get("kind", "") if isinstance(names, Mapping) else ""
        key = (str(spec.get("group", "")), str(kind))
        served = self.versions.setdefault(key, {})
        if not spec.get("versions") and spec.get("version"):  # apiextensions.k8s.io/v1beta1
            validation = spec.get("validation") or {}
            schema = validation.get("openAPIV3Schema") if isinstance(validation, Mapping) else None
            served[str(spec["version"])] = schema if isinstance(schema, Mapping) else None
        for version in spec.get("versions") or ():
            if not isinstance(version, Mapping) or version.get("served") is False:
                continue
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            served[str(version.get("name"))] = schema if isinstance(schema, Mapping) else None

    def knows(self, group: str, kind: str) -> bool:
        return (group, kind) in self.versions

    def served_versions(self, group: str, kind: str) -> tuple[str, ...]:
        return tuple(sorted(self.versions.get((group, kind), {})))

    def problems(
        self, group: str, version: str, body: Mapping[str, Any]
    ) -> Iterator[SchemaProblem]:
        schema = self.versions[group, str(body.get("kind"))].get(version)
        if schema is None:  # a version served without a schema accepts anything
            return
        compiled = self._compiled(group, str(body.get("kind")), version, schema)
        yield from errors_of(compiled, body)

    def _compiled(self, group: str, kind: str, version: str, schema: Mapping[str, Any]) -> Any:
        key = (group, kind, version)
        if key not in self.compiled:
            root = json_schema(schema)
            # The API server checks metadata as ObjectMeta itself, whatever the CRD says of it.
            root.setdefault("properties", {}).update(_OBJECT_FIELDS)
            self.compiled[key] = jsonschema_rs.Draft4Validator(root, validate_formats=False)
        return self.compiled[key]


def custom_schemas(crds: Iterable[Mapping[str, Any]]) -> CustomSchemas:
    schemas = CustomSchemas()
    for crd in crds:
        schemas.add(crd)
    return schemas


def is_crd(body: Mapping[str, Any]) -> bool:
    return body.get("kind") == "CustomResourceDefinition" and str(
        body.get("apiVersion", "")
    ).startswith("apiextensions.k8s.io/")


def json_schema(openapi: Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAPI 3.0 structural schema as the draft-4 JSON Schema the API server applies."""
    out: dict[str, Any] = {
        key: value for key, value in openapi.items() if not key.startswith("x-kubernetes-")
    }
    out.pop("nullable", None)
    out.pop("format", None)
    if isinstance(openapi.get("properties"), Mapping):
        out["properties"] = {k: json_schema(v) for k, v in openapi["properties"].items()}
    if isinstance(openapi.get("items"), Mapping):
        out["items"] = json_schema(openapi["items"])
    if isinstance(openapi.get("additionalProperties"), Mapping):
        out["additionalProperties"] = json_schema(openapi["additionalProperties"])
    for key in _NESTED:
        if isinstance(openapi.get(key), list):
            out[key] = [json_schema(item) for item in openapi[key]]
    if isinstance(openapi.get("not"), Mapping):
        out["not"] = json_schema(openapi["not"])
    if openapi.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("allOf", []).append({"type": ["integer", "string"]})
    preserve = openapi.get("x-kubernetes-preserve-unknown-fields") or openapi.get(
        "x-kubernetes-embedded-resource"
    )
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    if openapi.get("nullable"):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list):
            out["enum"] = [*out["enum"], None]
        if "type" not in out and "enum" not in out:
            out = {"anyOf": [{"type": "null"}, out]}
    return out
