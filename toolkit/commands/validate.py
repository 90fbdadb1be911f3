"""`toolkit validate`: render (the work tree, or a revision) and check every environment."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from toolkit.config.project import Config
from toolkit.diff import revisions
from toolkit.diff.comparison import changed_paths, without_noise
from toolkit.infra import git
from toolkit.render import pipeline
from toolkit.validate.check import (
    EnvironmentReport,
    branch_paths,
    check_environments,
    template_of,
)
from toolkit.validate.findings import Finding, Severity


@dataclass(frozen=True)
class ValidateResult:
    reports: tuple[EnvironmentReport, ...]
    ref: str | None  # the commit validated; None for the work tree

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for report in self.reports for f in report.findings)

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity is severity)

    @property
    def failed(self) -> bool:
        return self.count(Severity.ERROR) > 0

    def summary(self) -> str:
        errors, warnings = self.count(Severity.ERROR), self.count(Severity.WARNING)
        return (
            f"validate: {errors} error{'s' * (errors != 1)}, "
            f"{warnings} warning{'s' * (warnings != 1)} in {len(self.reports)} environment"
            f"{'s' * (len(self.reports) != 1)}"
        )

    def lines(self) -> Iterator[str]:
        """Findings grouped per environment, one line each, then the summary."""
        for report in self.reports:
            yield f"{report.environment} (Kubernetes {report.kube_version}): " + (
                f"{len(report.findings)} finding{'s' * (len(report.findings) != 1)}"
                if report.findings
                else "ok"
            )
            for finding in report.findings:
                yield f"  {finding.as_line()}"
        yield self.summary()

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "errors": self.count(Severity.ERROR),
            "warnings": self.count(Severity.WARNING),
            "environments": [
                {
                    "name": report.environment,
                    "kubeVersion": report.kube_version,
                    "notes": list(report.notes),
                    "findings": [finding.as_dict() for finding in report.findings],
                }
                for report in self.reports
            ],
        }


def check_renders(
    config: Config, renders: Sequence[pipeline.EnvironmentRender], *, strict: bool = False
) -> tuple[EnvironmentReport, ...]:
    """The findings of rendered environments (what `validate` and `hydrate --validate` use)."""
    trees = [(render.tree, render.spec.environment.kube_version) for render in renders]
    return check_environments(config, trees, strict=strict)


def determinism_findings(
    config: Config,
    first: Sequence[pipeline.EnvironmentRender],
    second: Sequence[pipeline.EnvironmentRender],
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
            if a is not None and b is not None and a.text == b.text:
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


def gate(
    config: Config,
    renders: Sequence[pipeline.EnvironmentRender],
    again: Sequence[pipeline.EnvironmentRender] | None,
) -> ValidateResult:
    """`hydrate --validate`: the findings of what is about to be committed; `again`, a second
    uncached render, when `validate.determinism.check` asks for reproducible output."""
    reports = check_renders(config, renders)
    if again is not None:
        severity = Severity(config.validate.determinism)
        reports = with_findings(reports, determinism_findings(config, renders, again, severity))
    return ValidateResult(reports, None)


def validate_environments(
    config: Config,
    environments: Sequence[str],
    *,
    ref: str | None,
    tool_choice: pipeline.ToolChoice,
    parallel: int,
    locked: bool,
    use_cache: bool,
    strict: bool,
    determinism: bool,
) -> ValidateResult:
    """Render the work tree (`config` is its configuration) or `ref`, and check the named
    environments (all when none)."""
    with contextlib.ExitStack() as stack:
        commit = None
        if ref is not None:
            repo = git.toplevel(config.root)
            commit = revisions.commit_named(repo, ref, "--ref")
            config = revisions.Side("ref", repo, config.root, commit, stack).config()
        chosen = config.select(environments)
        renders = pipeline.render_environments(
            config,
            chosen,
            tool_choice=tool_choice,
            parallel=parallel,
            locked=locked,
            use_cache=use_cache and not determinism,
        )
        reports = check_renders(config, renders, strict=strict)
        if determinism:
            again = pipeline.render_environments(
                config,
                chosen,
                tool_choice=tool_choice,
                parallel=parallel,
                locked=locked,
                use_cache=False,
            )
            reports = with_findings(
                reports, determinism_findings(config, renders, again, Severity.ERROR)
            )
    return ValidateResult(reports, commit)
