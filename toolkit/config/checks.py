"""The sections of toolkit.yaml that configure the checks: `validate:` (policies, namespaces,
CRDs, strictness, determinism) and `diff.ignore`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any

from toolkit.infra.yamlfile import KeyPath, YamlDocument, describe, did_you_mean, dotted


@dataclass(frozen=True)
class DiffIgnore:
    """One `diff.ignore` rule: resources it matches (None matches any; `name` may be a glob)
    and the fields it drops from them, as JSON pointers split into their unescaped parts
    (a `*` part matches every key or item); no pointers drops the whole resource."""

    group: str | None
    kind: str | None
    name: str | None
    namespace: str | None
    pointers: tuple[tuple[str, ...], ...]


SEVERITIES = ("off", "warning", "error")
# `toolkit validate`'s policies and their severity unless toolkit.yaml says otherwise.
POLICY_DEFAULTS: Mapping[str, str] = MappingProxyType(
    {
        "plain-secret": "warning",
        "image-tag": "warning",
        "undeclared-namespace": "warning",
        "helm-hook": "off",
        "resource-requests": "off",
    }
)
# Namespaces every cluster has: resources may live there without declaring them.
CLUSTER_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_VALIDATE_KEYS = ("policies", "namespaces", "crds", "strict", "determinism")
_IGNORE_KEYS = ("group", "kind", "name", "namespace", "jsonPointers")


@dataclass(frozen=True)
class ValidateSettings:
    """`validate:` in toolkit.yaml: policy severities, namespaces that exist without being
    declared, CRD files (globs from the root) for custom kinds, `strict` (a custom kind with
    no schema is an error, not a warning), and what a non-reproducible render is."""

    policies: Mapping[str, str] = field(default_factory=lambda: POLICY_DEFAULTS, hash=False)
    namespaces: tuple[str, ...] = CLUSTER_NAMESPACES
    crds: tuple[str, ...] = ()
    strict: bool = False
    determinism: str = "off"
    determinism_ignore: tuple[DiffIgnore, ...] = ()


def diff_ignore(doc: YamlDocument, raw: Any) -> tuple[DiffIgnore, ...]:
    section = doc.mapping(("diff",), raw, allowed=("ignore",))
    path: KeyPath = ("diff", "ignore")
    return tuple(
        _ignore_rule(doc, (*path, index), item)
        for index, item in enumerate(doc.sequence(path, section.get("ignore")))
    )


def validate_settings(doc: YamlDocument, raw: Any) -> ValidateSettings:
    section = doc.mapping(("validate",), raw, allowed=_VALIDATE_KEYS)
    policies = dict(POLICY_DEFAULTS)
    raw_policies = doc.mapping(("validate", "policies"), section.get("policies"))
    for name, severity in raw_policies.items():
        path: KeyPath = ("validate", "policies", name)
        if name not in POLICY_DEFAULTS:
            doc.fail(
                path,
                f"validate.policies has no policy '{name}'{did_you_mean(name, POLICY_DEFAULTS)}; "
                f"the policies are: {', '.join(POLICY_DEFAULTS)}",
            )
        policies[name] = _severity(doc, path, severity)
    determinism = doc.mapping(
        ("validate", "determinism"), section.get("determinism"), allowed=("check", "ignore")
    )
    strict = section.get("strict", False)
    if not isinstance(strict, bool):
        doc.fail(
            ("validate", "strict"),
            f"validate.strict must be true or false, found {describe(strict)}",
        )
    ignore_path: KeyPath = ("validate", "determinism", "ignore")
    return ValidateSettings(
        policies=MappingProxyType(policies),
        namespaces=CLUSTER_NAMESPACES
        + doc.strings(("validate", "namespaces"), section.get("namespaces")),
        crds=_crd_patterns(doc, section.get("crds")),
        strict=strict,
        determinism=_severity(
            doc, ("validate", "determinism", "check"), determinism.get("check", "off")
        ),
        determinism_ignore=tuple(
            _ignore_rule(doc, (*ignore_path, index), item)
            for index, item in enumerate(doc.sequence(ignore_path, determinism.get("ignore")))
        ),
    )


def _crd_patterns(doc: YamlDocument, raw: Any) -> tuple[str, ...]:
    path: KeyPath = ("validate", "crds")
    patterns = doc.strings(path, raw)
    for index, pattern in enumerate(patterns):
        pure = PurePosixPath(pattern)
        if not pattern.strip() or pure.is_absolute() or ".." in pure.parts:
            doc.fail(
                (*path, index),
                f"validate.crds pattern '{pattern}' must be relative to the repository root "
                "and stay inside it, e.g. crds/*.yaml",
            )
    return patterns


def _severity(doc: YamlDocument, path: KeyPath, raw: Any) -> str:
    if raw is False:  # `off` unquoted is YAML's false
        return "off"
    if raw not in SEVERITIES:
        doc.fail(
            path, f"{dotted(path)} must be one of {', '.join(SEVERITIES)}, found {describe(raw)}"
        )
    return str(raw)


def _ignore_rule(doc: YamlDocument, path: KeyPath, raw: Any) -> DiffIgnore:
    entry = doc.mapping(path, raw, allowed=_IGNORE_KEYS)
    for key in ("group", "kind", "name", "namespace"):
        if key in entry and not isinstance(entry[key], str):
            doc.fail(
                (*path, key),
                f"{dotted((*path, key))} must be a string, found {describe(entry[key])}; quote it",
            )
    if not any(entry.get(key) for key in ("kind", "name")):
        doc.fail(
            path,
            f"{dotted(path)} must name a kind or a name (or both), e.g. "
            "{kind: Deployment, jsonPointers: [/spec/replicas]}",
        )
    pointers_path = (*path, "jsonPointers")
    pointers = []
    for index, pointer in enumerate(doc.strings(pointers_path, entry.get("jsonPointers"))):
        if not pointer.startswith("/"):
            doc.fail(
                (*pointers_path, index),
                f"'{pointer}' is not a JSON pointer: start it with '/', "
                "e.g. /metadata/annotations/checksum~1config (~1 for '/', ~0 for '~')",
            )
        parts = pointer[1:].split("/")
        pointers.append(tuple(p.replace("~1", "/").replace("~0", "~") for p in parts))
    return DiffIgnore(
        group=entry.get("group"),
        kind=entry.get("kind"),
        name=entry.get("name"),
        namespace=entry.get("namespace"),
        pointers=tuple(pointers),
    )
