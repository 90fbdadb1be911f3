"""Whether the same inputs render the same resources: two renders compared as `toolkit diff`
compares revisions (`validate --determinism`, `validate.determinism` in toolkit.yaml)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from toolkit.config.project import Config
from toolkit.diff.comparison import changed_paths, without_noise
from toolkit.validate.check import EnvironmentReport, branch_paths, template_of
from toolkit.validate.findings import Finding, Severity

if TYPE_CHECKING:
    from toolkit.render.rendering import EnvironmentRender


def determinism_findings(
    config: Config,
    first: Sequence[EnvironmentRender],
    second: Sequence[EnvironmentRender],
    severity: Severity,
) -> dict[str, list[Finding]]:
    """Resources whose two uncached renders differ (after `validate.determinism.ignore`)."""
    rules = config.validate.determinism_ignore
    found: dict[str, list[Finding]] = {}
    for one, two in zip(first, second, strict=True):
        paths = {**branch_paths(two.tree), **branch_paths(one.tree)}
        before = without_noise(one.tree.resources, rules)
        after = without_noise(two.tree.resources, rules)
        findings = found.setdefault(one.name, [])
        for rid in sorted(before.keys() | after.keys()):
            a, b = before.get(rid), after.get(rid)
            if a is not None and b is not None and a.data == b.data:
                continue
            present = a or b
            assert present is not None
            if a is None or b is None:
                message = "appears in only one of two renders of the same inputs"
            else:
                fields = ", ".join(changed_paths(dict(a.body), dict(b.body))[:5])
                message = f"differs between two renders of the same inputs at {fields}"
            findings.append(
                Finding(
                    one.name,
                    paths[rid],
                    None,
                    "nondeterministic",
                    severity,
                    str(rid),
                    message + " (set validate.determinism.ignore for fields meant to vary)",
                    template_of(present),
                )
            )
    return found


def with_findings(
    reports: Sequence[EnvironmentReport], extra: Mapping[str, Sequence[Finding]]
) -> tuple[EnvironmentReport, ...]:
    return tuple(
        replace(
            report,
            findings=tuple(
                sorted((*report.findings, *extra.get(report.environment, ())), key=Finding.sort_key)
            ),
        )
        for report in reports
    )
