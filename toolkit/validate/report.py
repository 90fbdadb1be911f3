"""A validation's result: the findings per environment, as lines and as JSON, and the check of
rendered environments that `validate` and `hydrate --validate` share."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolkit.config.project import Config
from toolkit.validate.check import EnvironmentReport, check_environments
from toolkit.validate.findings import Finding, Severity

if TYPE_CHECKING:
    from toolkit.render.rendering import EnvironmentRender


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
    config: Config, renders: Sequence[EnvironmentRender], *, strict: bool = False
) -> tuple[EnvironmentReport, ...]:
    """The findings of rendered environments (what `validate` and `hydrate --validate` use)."""
    trees = [(render.tree, render.spec.environment.kube_version) for render in renders]
    return check_environments(config, trees, strict=strict)
