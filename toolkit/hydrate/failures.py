"""--keep-going: the environments that failed to render, reported once the others are written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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

    def raise_any(self, *, done: str) -> None:
        """A RenderError (exit 3) naming every failure, if there was one; `done` says what
        became of the other environments."""
        if not self.errors:
            return
        count = len(self.errors)
        names = ", ".join(self.errors)
        lines = [
            f"{count} environment{'s' if count > 1 else ''} failed to render ({names}); {done}:"
        ]
        lines += [process.indent(str(error)) for error in self.errors.values()]
        raise RenderError("\n".join(lines), debug=self._debug_output)

    def _debug_output(self) -> str:
        outputs = [e.debug_output() for e in self.errors.values() if isinstance(e, RenderError)]
        return "\n".join(output for output in outputs if output)
