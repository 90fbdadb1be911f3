"""A finding: one thing wrong with one rendered resource, where it is, and how bad."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """`rule` names the check (e.g. `schema`, `removed-api`, `policy/image-tag`); `path` is
    the resource's file on the rendered branch (`<env>/...`), `line` the line in it where the
    problem is, when known; `template` helm's `# Source:` of the document, when it has one."""

    environment: str
    path: str
    line: int | None
    rule: str
    severity: Severity
    resource: str
    message: str
    template: str | None = None
    field: tuple[str | int, ...] = ()  # where in the resource, when the finding names a field

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.path, self.line or 0, self.rule, self.message)

    @property
    def location(self) -> str:
        return self.path if self.line is None else f"{self.path}:{self.line}"

    def as_line(self) -> str:
        source = f" (from {self.template})" if self.template else ""
        return (
            f"{self.location}: {self.severity.value}: {self.resource}: {self.message} "
            f"[{self.rule}]{source}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "path": self.path,
            "line": self.line,
            "rule": self.rule,
            "severity": self.severity.value,
            "resource": self.resource,
            "message": self.message,
            "template": self.template,
            "field": "".join(
                f"[{part}]" if isinstance(part, int) else f".{part}" for part in self.field
            ).lstrip("."),
        }
