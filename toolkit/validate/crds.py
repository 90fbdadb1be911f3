"""Custom resources against the `openAPIV3Schema` of their CustomResourceDefinition.

A CRD's schema is OpenAPI 3.0 with Kubernetes extensions; it is turned into the JSON Schema
(draft 4) the API server in effect applies: `nullable` admits null, `x-kubernetes-int-or-string`
admits both, and an object that lists its properties and does not preserve unknown fields
refuses others (strict field validation, as `kubectl apply` asks for by default), and
`pattern` is matched as Go's RE2 syntax, as the API server matches it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs

from toolkit.validate.schemas import SchemaProblem, errors_of

_NESTED = ("allOf", "anyOf", "oneOf")
_GO_PATTERN = "x-toolkit-go-pattern"
_KEYWORD_FAILED = re.compile(r"^Failed to instantiate keyword class '[^']*': (ValueError: )?")
# The API server checks these itself for every object; CRD schemas rarely describe them.
_OBJECT_FIELDS = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {}}


@dataclass
class CustomSchemas:  # filled as CRDs are found, so not frozen
    """Every CRD an environment can see: (group, kind) -> served version -> its validator."""

    versions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    compiled: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    # Why a served version's schema cannot be compiled, where it cannot (none of it is checked).
    unusable: dict[tuple[str, str, str], str] = field(default_factory=dict)

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
        """Each way `body` breaks its CRD's schema; call `unusable_reason` first."""
        compiled = self._compiled(group, str(body.get("kind")), version)
        if compiled is not None:
            yield from errors_of(compiled, body)

    def unusable_reason(self, group: str, kind: str, version: str) -> str | None:
        """Why the CRD's schema of `version` cannot be checked against, if it cannot."""
        self._compiled(group, kind, version)
        return self.unusable.get((group, kind, version))

    def _compiled(self, group: str, kind: str, version: str) -> Any:
        key = (group, kind, version)
        schema = self.versions[group, kind].get(version)
        if schema is None:  # a version served without a schema accepts anything
            return None
        if key not in self.compiled and key not in self.unusable:
            root = json_schema(schema)
            # The API server checks metadata as ObjectMeta itself, whatever the CRD says of it.
            root.setdefault("properties", {}).update(_OBJECT_FIELDS)
            try:
                self.compiled[key] = jsonschema_rs.Draft4Validator(
                    root, validate_formats=False, keywords={_GO_PATTERN: _GoPattern}
                )
            except (jsonschema_rs.ValidationError, ValueError) as exc:
                reason = str(exc).splitlines()[0]
                self.unusable[key] = _KEYWORD_FAILED.sub("", reason)[:200]
        return self.compiled.get(key)


class _GoPattern:
    """`pattern` as the API server matches it: Go's RE2 syntax (e.g. kube-prometheus-stack's
    `^(?i)(abort|warn)?$`), by the RE2-like regex engine of jsonschema-rs. Draft 4's own
    `pattern` takes ECMA 262 regexes, whose check refuses such a schema whole."""

    def __init__(self, parent: Mapping[str, Any], value: Any, path: Any) -> None:
        self.pattern = str(value)
        try:
            self.matcher = jsonschema_rs.Draft202012Validator(
                {"pattern": self.pattern}, pattern_options=jsonschema_rs.RegexOptions()
            )
        except (jsonschema_rs.ValidationError, ValueError):
            raise ValueError(f"the pattern {self.pattern} is not a regular expression") from None

    def validate(self, instance: Any) -> None:
        if isinstance(instance, str) and not self.matcher.is_valid(instance):
            raise ValueError(f"does not match the pattern {self.pattern}")


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
    if "pattern" in out:
        out[_GO_PATTERN] = out.pop("pattern")
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
