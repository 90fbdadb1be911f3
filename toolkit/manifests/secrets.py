"""Secret redaction: what of a Secret (or an annotation holding a serialized object) may be shown
in a diff or a log: its keys and their sizes, never a value."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from toolkit.infra import kubeyaml
from toolkit.manifests.model import ChangeKind, ResourceId, group_of

SECRET_FIELDS = ("data", "stringData")


@dataclass(frozen=True)
class SecretKeyChange:
    """What happened to one key of a Secret's `data` or `stringData`: never its value."""

    field: str
    key: str
    status: ChangeKind  # added, removed, changed or unchanged
    old_size: int | None
    new_size: int | None


def is_secret(rid: ResourceId) -> bool:
    return rid.group == "" and rid.kind == "Secret"


def _secret_value(field_name: str, value: Any) -> bytes:
    """The bytes a key holds: `data` is base64 (kept raw where it does not decode)."""
    raw = value if isinstance(value, str) else kubeyaml.dump(value)
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
            status = ChangeKind.ADDED
        elif now is None:
            status = ChangeKind.REMOVED
        else:
            status = ChangeKind.UNCHANGED if was == now else ChangeKind.CHANGED
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
