"""--keep-going: the environments that failed to render, reported once the others are written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from toolkit.infra import process
from toolkit.infra.errors import RenderError, ToolkitError


@dataclass
class RenderFailures:
    """Each failed environment's first error, in the order they were found."""

    notify: Callable[[str, ToolkitError], None] = lambda environment, error: None
    errors: dict[str, ToolkitError] = field(default_factory=dict)

    def add(self, environment: str, error: ToolkitError) -> None:
        if environment not in self.errors:
            self.errors[environment] = error
            self.notify(environment, error)

    def error(self, *, done: str) -> RenderError | None:
        """A RenderError (exit 3) naming every failure, if there was one; `done` says what
        became of the other environments."""
        if not self.errors:
            return None
        count = len(self.errors)
        names = ", ".join(self.errors)
        lines = [
            f"{count} environment{'s' if count > 1 else ''} failed to render ({names}); {done}:"
        ]
        lines += [process.indent(str(error)) for error in self.errors.values()]
        return RenderError("\n".join(lines), debug=self._debug_output)

    def _debug_output(self) -> str:
        outputs = [e.debug_output() for e in self.errors.values() if isinstance(e, RenderError)]
        return "\n".join(output for output in outputs if output)


def failure_as_dict(environment: str, error: ToolkitError) -> dict[str, Any]:
    """A failed environment as `--json` lists it: its name, and the release, message, file and
    line of its first error (null where not known)."""
    said = error.as_dict()
    return {"environment": environment, **{key: said[key] for key in _FAILURE_KEYS}}


_FAILURE_KEYS = ("release", "message", "file", "line")
