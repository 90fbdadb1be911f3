"""One environment's render checked: schemas, custom kinds, retired APIs and policies."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from toolkit.config.checks import ValidateSettings
from toolkit.config.project import Config
from toolkit.infra.errors import InputError
from toolkit.infra.paths import safe_path
from toolkit.infra.yamlfile import read_text, relative_name
from toolkit.manifests import model
from toolkit.manifests.layout import RenderedTree
from toolkit.manifests.model import Resource, ResourceId
from toolkit.validate import apis, crds, policies, schemas
from toolkit.validate.crds import is_crd
from toolkit.validate.findings import Finding, Severity
from toolkit.validate.locate import line_of

_API: tuple[str | int, ...] = ("apiVersion",)
_SOURCE = re.compile(r"^# Source: (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class EnvironmentReport:
    environment: str
    kube_version: str  # the version checked against
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()


def extra_crds(config: Config) -> list[Mapping[str, Any]]:
    """The CustomResourceDefinitions in the files `validate.crds` names (globs from the root)."""
    found: list[Mapping[str, Any]] = []
    for pattern in config.validate.crds:
        matches = sorted(path for path in config.root.glob(pattern) if path.is_file())
        if not matches:
            raise InputError(
                f"{relative_name(config.path, config.root)}: validate.crds pattern '{pattern}' "
                "matches no file; write it relative to the repository root, e.g. crds/*.yaml"
            )
        for path in matches:
            where = f"validate.crds: {relative_name(path, config.root)}"
            safe = safe_path(
                config.root, config.root, relative_name(path, config.root), where=where
            )
            text = read_text(safe, root=config.root)
            found += [d for d in model.bodies(text, where=where) if is_crd(d)]
    return found


def check_tree(
    tree: RenderedTree,
    *,
    kube_version: str | None,
    settings: ValidateSettings,
    extra_crds: Iterable[Mapping[str, Any]] = (),
) -> EnvironmentReport:
    """Every finding for one environment's rendered tree."""
    notes = []
    if kube_version is None:
        newest = schemas.shipped_minors()[-1]
        kube_version = apis.version_text(newest)
        notes.append(
            f"{tree.environment}: no kubeVersion set; checked against Kubernetes {kube_version} "
            "(set environments[].kubeVersion to the cluster's)"
        )
    minor = schemas.minor_of(kube_version)
    schema_minor = schemas.schema_minor(kube_version)
    if schema_minor is not None and schema_minor < minor:
        notes.append(
            f"{tree.environment}: no schemas for Kubernetes {apis.version_text(minor)} yet; "
            f"checked against {apis.version_text(schema_minor)}'s, the newest shipped"
        )
    if schema_minor is None:
        oldest = apis.version_text(schemas.shipped_minors()[0])
        notes.append(
            f"{tree.environment}: no schemas for Kubernetes {apis.version_text(minor)} "
            f"(they start at {oldest}): built-in kinds were not checked against a schema"
        )
    custom = crds.custom_schemas(
        [*extra_crds, *(r.body for r in tree.resources if crds.is_crd(r.body))]
    )
    declared = {r.id.name for r in tree.resources if r.id.group == "" and r.id.kind == "Namespace"}
    scope = policies.Scope(frozenset(declared) | frozenset(settings.namespaces))
    paths = branch_paths(tree)
    texts = {paths[resource.id]: resource.text for resource in tree.resources}
    findings: list[Finding] = []
    for resource in tree.resources:
        path = paths[resource.id]
        findings += _resource_findings(
            resource, path, tree.environment, minor, schema_minor, custom, settings, scope
        )
    # Lines are looked up (a parse of the file each) only for the findings that are kept.
    kept = _once_per_namespace(sorted(findings, key=Finding.sort_key))
    located = [replace(f, line=line_of(texts[f.path], f.field)) if f.field else f for f in kept]
    return EnvironmentReport(
        tree.environment,
        kube_version,
        tuple(sorted(located, key=Finding.sort_key)),
        tuple(notes),
    )


def _once_per_namespace(findings: list[Finding]) -> list[Finding]:
    """An undeclared namespace is one finding, on its first resource, counting the others."""
    rule = "policy/undeclared-namespace"
    by_namespace: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.rule == rule:
            by_namespace.setdefault(finding.message, []).append(finding)
    kept = []
    for finding in findings:
        if finding.rule != rule:
            kept.append(finding)
            continue
        same = by_namespace[finding.message]
        if finding is same[0]:
            others = len(same) - 1
            more = f" ({others} more resource{'s' * (others != 1)} there)" if others else ""
            kept.append(replace(finding, message=finding.message + more))
    return kept


def template_of(resource: Resource) -> str | None:
    """The chart template a document came from: helm's `# Source:` comment, when kept."""
    found = _SOURCE.search(resource.text)
    return found[1].strip() if found else None


def branch_paths(tree: RenderedTree) -> dict[ResourceId, str]:
    """Each resource's file on the rendered branch (`<env>/<path>`); its source directory where
    no file holds its text."""
    by_text = {data: path for path, data in tree.files.items()}
    return {r.id: f"{tree.environment}/{by_text.get(r.data, r.source)}" for r in tree.resources}


def check_environments(
    config: Config, trees: Iterable[tuple[RenderedTree, str | None]], *, strict: bool = False
) -> tuple[EnvironmentReport, ...]:
    """The findings of rendered trees, each with its environment's kubeVersion: what
    `toolkit validate`, `hydrate --validate` and `toolkit diff` report."""
    settings = replace(config.validate, strict=True) if strict else config.validate
    crds = extra_crds(config)
    return tuple(
        check_tree(tree, kube_version=kube, settings=settings, extra_crds=crds)
        for tree, kube in trees
    )


def _resource_findings(
    resource: Resource,
    path: str,
    environment: str,
    minor: tuple[int, int],
    schema_minor: tuple[int, int] | None,
    custom: crds.CustomSchemas,
    settings: ValidateSettings,
    scope: policies.Scope,
) -> Iterator[Finding]:
    template = template_of(resource)

    def finding(
        rule: str, severity: Severity, message: str, field: tuple[str | int, ...] = ()
    ) -> Finding:
        resource_name = str(resource.id)
        return Finding(
            environment, path, None, rule, severity, resource_name, message, template, field
        )

    api_version = str(resource.body.get("apiVersion"))
    group, _, version = api_version.rpartition("/")
    kind = resource.id.kind
    retired = apis.retired(api_version, kind)
    if retired is not None and minor >= retired.removed_in:
        yield finding("removed-api", Severity.ERROR, _retired_message(retired, removed=True), _API)
        return
    if retired is not None and minor >= retired.deprecated_in:
        yield finding(
            "deprecated-api", Severity.WARNING, _retired_message(retired, removed=False), _API
        )
    known_groups = schemas.built_in_groups(schema_minor or schemas.shipped_minors()[0])
    if group in known_groups:
        if schema_minor is None:
            pass  # no schemas of this version to check a built-in kind against (noted once)
        elif (group, version, kind) in schemas.served(schema_minor):
            for problem in schemas.problems(schema_minor, resource.body):
                yield finding("schema", Severity.ERROR, problem.message, problem.path)
        elif not custom.knows(group, kind):
            yield finding(
                "unknown-api",
                Severity.ERROR,
                f"Kubernetes {apis.version_text(schema_minor)} serves no {kind} in {api_version}",
                _API,
            )
    elif custom.knows(group, kind):
        served = custom.served_versions(group, kind)
        if version not in served:
            yield finding(
                "crd-version",
                Severity.ERROR,
                f"its CRD serves {kind} only in version {', '.join(served)}, not {version}",
                _API,
            )
        elif (reason := custom.unusable_reason(group, kind, version)) is not None:
            yield finding(
                "crd-schema",
                Severity.WARNING,
                f"its CRD's schema of {version} cannot be checked against ({reason}): its fields "
                "were not checked",
                _API,
            )
        else:
            for problem in custom.problems(group, version, resource.body):
                yield finding("crd-schema", Severity.ERROR, problem.message, problem.path)
    else:
        yield finding(
            "no-schema",
            Severity.ERROR if settings.strict else Severity.WARNING,
            f"no CRD for {kind}.{group} in this environment's render or validate.crds: "
            "its fields were not checked",
            ("kind",),
        )
    for name, check in policies.POLICIES.items():
        severity = settings.policies[name]
        if severity == "off":
            continue
        for field, message in check(resource, scope):
            yield finding(f"policy/{name}", Severity(severity), message, field)


def _retired_message(retired: apis.RetiredApi, *, removed: bool) -> str:
    verb = "removed" if removed else "deprecated"
    when = apis.version_text(retired.removed_in if removed else retired.deprecated_in)
    future = "" if removed else f" and removed in {apis.version_text(retired.removed_in)}"
    use = f"; use {retired.replacement}" if retired.replacement else "; it has no replacement"
    return f"{retired.api_version} was {verb} in Kubernetes {when}{future}{use}"
