"""Built-in kinds against the Kubernetes OpenAPI schemas that kubernetes-validate ships.

Its strict schemas (unknown fields are errors, as `kubectl apply` with server-side field
validation makes them) for the newest Kubernetes minor not newer than the environment's. Each
kind's validator is built once per run, on first use; the definitions file once per version.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema_rs

from toolkit.infra.yamlfile import dotted

_VERSION_DIR = re.compile(r"v(\d+)\.(\d+)\.\d+-local-strict")
_KUBE_MINOR = re.compile(r"v?(\d+)\.(\d+)")


@dataclass(frozen=True)
class SchemaProblem:
    """One way a document breaks its schema: the path to the field and what is wrong.

    Messages never quote the document's values (a Secret's data must not reach a finding)."""

    path: tuple[str | int, ...]
    message: str


def _schema_root() -> Any:
    return resources.files("kubernetes_validate") / "kubernetes-json-schema"


@functools.cache
def shipped_minors() -> tuple[tuple[int, int], ...]:
    """The Kubernetes minors whose schemas are on disk, oldest first."""
    found = []
    for entry in _schema_root().iterdir():
        match = _VERSION_DIR.fullmatch(entry.name)
        if match:
            found.append((int(match[1]), int(match[2])))
    return tuple(sorted(found))


def minor_of(kube_version: str) -> tuple[int, int]:
    match = _KUBE_MINOR.match(kube_version)
    if match is None:  # config.py accepts only versions this pattern matches
        raise ValueError(f"not a Kubernetes version: {kube_version!r}")
    return int(match[1]), int(match[2])


def schema_minor(kube_version: str) -> tuple[int, int] | None:
    """The newest shipped minor not newer than `kube_version`; None when all are newer."""
    wanted = minor_of(kube_version)
    usable = [minor for minor in shipped_minors() if minor <= wanted]
    return usable[-1] if usable else None


def _directory(minor: tuple[int, int]) -> Any:
    return _schema_root() / f"v{minor[0]}.{minor[1]}.0-local-strict"


_DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"


@functools.cache
def _definitions(minor: tuple[int, int]) -> tuple[jsonschema_rs.Registry, frozenset[Any]]:
    """The registry holding this version's shared definitions, and every (group, version,
    kind) it serves."""
    contents = json.loads((_directory(minor) / "_definitions.json").read_text(encoding="utf-8"))
    served = frozenset(
        (gvk["group"], gvk["version"], gvk["kind"])
        for definition in contents["$defs"].values()
        for gvk in definition.get("x-kubernetes-group-version-kind", ())
    )
    return jsonschema_rs.Registry([(_DEFINITIONS_URI, contents)]), served


def served(minor: tuple[int, int]) -> frozenset[tuple[str, str, str]]:
    """(group, version, kind) of every built-in kind this Kubernetes version serves."""
    return _definitions(minor)[1]


@functools.cache
def built_in_groups(minor: tuple[int, int]) -> frozenset[str]:
    return frozenset(group for group, _, _ in served(minor))


@functools.cache
def _validator(minor: tuple[int, int], api_version: str, kind: str) -> Any:
    # kubernetes-validate's file naming: the group's first label, then the version.
    stem = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema_file = _directory(minor) / f"{kind.lower()}-{stem}.json"
    if not schema_file.is_file():
        return None
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    return jsonschema_rs.validator_for(schema, registry=_definitions(minor)[0])


def forget_compiled() -> None:
    """Drop every loaded schema and compiled validator (a benchmark's fresh start)."""
    _definitions.cache_clear()
    _validator.cache_clear()


def problems(minor: tuple[int, int], body: Mapping[str, Any]) -> Iterator[SchemaProblem]:
    """Each way `body` breaks its kind's schema at Kubernetes `minor` (none when no schema)."""
    validator = _validator(minor, str(body.get("apiVersion")), str(body.get("kind")))
    if validator is not None:
        yield from errors_of(validator, body)


def errors_of(validator: Any, body: Any) -> Iterator[SchemaProblem]:
    """A compiled validator's errors for `body`, in path order, as SchemaProblems."""
    try:
        errors = list(validator.iter_errors(body))
    except ValueError:  # a value JSON has no type for (a YAML date): the API server reads text
        errors = list(validator.iter_errors(json.loads(json.dumps(body, default=str))))
    found = [(tuple(error.instance_path), describe(error)) for error in errors]
    for path, message in sorted(found, key=lambda item: [str(part) for part in item[0]]):
        yield SchemaProblem(path, message)


def describe(error: Any) -> str:
    """What a schema error means, from the schema's side only (never the value's text)."""
    where = dotted(tuple(error.instance_path)) or "the document"
    kind, detail = error.kind.name, error.kind.as_dict()
    if kind == "additionalProperties":
        names = ", ".join(repr(str(name)) for name in detail["unexpected"])
        return f"{where}: unknown field{'s' if len(detail['unexpected']) > 1 else ''} {names}"
    if kind == "required":
        return f"{where}: missing required field {detail['property']!r}"
    if kind == "type":
        expected = [str(name) for name in detail["types"] if name != "null"]
        return f"{where}: must be {' or '.join(expected)}, not {_json_type(error.instance)}"
    if kind == "enum":
        return f"{where}: must be one of {', '.join(map(json.dumps, detail['options']))}"
    if kind in ("oneOf", "anyOf"):
        return f"{where}: matches none of the schema's alternatives ({kind})"
    if "keyword" in detail and "message" in detail:  # one of toolkit's own keywords
        return f"{where}: {detail['message']}"
    return f"{where}: breaks the schema's {kind!r} rule"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"
