"""`toolkit tools install` and `toolkit tools status`: the helm and kustomize toolkit uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from toolkit import __version__
from toolkit.config.toolpins import ToolPin
from toolkit.render import tools
from toolkit.render.settings import ToolChoice


@dataclass(frozen=True)
class InstallResult:
    installed: tuple[tools.Tool, ...]

    def as_dict(self) -> dict[str, str]:
        return {tool.name: str(tool.path) for tool in self.installed}

    def lines(self) -> list[str]:
        return [f"{tool.name} {tool.version}: {tool.path}" for tool in self.installed]


@dataclass(frozen=True)
class StatusResult:
    statuses: tuple[tools.ToolStatus, ...]

    @property
    def exit_code(self) -> int:
        return 0 if all(s.tool for s in self.statuses) else 1

    def as_dict(self) -> dict[str, Any]:
        return {
            s.name: {
                "path": str(s.tool.path) if s.tool else None,
                "version": s.tool.version if s.tool else None,
                "origin": s.tool.origin if s.tool else None,
                "reason": s.reason,
                "problem": s.problem,
            }
            for s in self.statuses
        }

    def lines(self) -> list[str]:
        return [
            f"{s.name}: {s.tool.version} at {s.tool.path} ({s.reason})"
            if s.tool
            else f"{s.name}: not found: {s.problem}"
            for s in self.statuses
        ]


@dataclass(frozen=True)
class VersionResult:
    """`toolkit version`: toolkit's own, and the helm and kustomize a command would use."""

    toolkit: str
    tools: StatusResult

    def as_dict(self) -> dict[str, Any]:
        return {"toolkit": self.toolkit, **self.tools.as_dict()}

    def lines(self) -> list[str]:
        return [f"toolkit {self.toolkit}", *self.tools.lines()]


def install(helm_major: int | None, pins: Mapping[str, ToolPin]) -> InstallResult:
    """The builds for `helm_major`, else the versions toolkit.yaml pins, else helm 3's."""
    return InstallResult(tools.install(helm_major=helm_major, pins=None if helm_major else pins))


def status(pins: Mapping[str, ToolPin], choice: ToolChoice) -> StatusResult:
    """Which helm and kustomize a command would use now, and why (nothing is downloaded)."""
    flags = {"helm": choice.helm, "kustomize": choice.kustomize}
    return StatusResult(tuple(tools.status(pins, flags)))


def version(pins: Mapping[str, ToolPin], choice: ToolChoice) -> VersionResult:
    return VersionResult(__version__, status(pins, choice))
