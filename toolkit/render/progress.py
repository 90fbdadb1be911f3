"""A run's progress as it goes: each environment's line as soon as its renders are done (not
all at the end), and in GitHub Actions (GITHUB_ACTIONS=true) a collapsible group per
environment and an error annotation, on the file and line, for each error that has them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from toolkit.infra.errors import RenderError, ToolkitError
from toolkit.infra.reporter import Reporter


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


@dataclass(frozen=True)
class Progress:
    """Says how each environment went through the run's reporter: with -v, or in GitHub
    Actions in a group of its own."""

    reporter: Reporter
    github: bool = field(default_factory=in_github_actions)

    def rendered(self, name: str, renders: int, cached: int) -> None:
        """An environment's renders are done (render_plan's on_environment)."""
        line = f"{name}: {renders} renders, {cached} from the cache"
        if not self.github:
            self.reporter.line(line, level=1)
            return
        for grouped in (f"::group::{_escaped(name)}", line, "::endgroup::"):
            self.reporter.line(grouped)

    def failed(self, name: str, error: ToolkitError) -> None:
        """An environment failed and the run goes on (--keep-going): its annotation now."""
        note = annotation(error)
        if note is not None:
            self.reporter.always(note)


def annotation(error: ToolkitError) -> str | None:
    """A GitHub Actions error annotation for `error` on its file and line, where it has one
    and the run is in GitHub Actions; None otherwise."""
    if not in_github_actions() or not isinstance(error, RenderError) or error.file is None:
        return None
    place = f"file={_escaped(error.file, property=True)}"
    if error.line is not None:
        place += f",line={error.line}"
    return f"::error {place}::{_escaped(str(error))}"


def _escaped(text: str, *, property: bool = False) -> str:
    """`text` as a workflow command carries it (one line; `:` and `,` also in a property)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property else text
