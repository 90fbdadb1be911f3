"""The error hierarchy: one root, one subclass per exit code, caught once in cli.py."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

E = TypeVar("E", bound="ToolkitError")


class ToolkitError(Exception):
    """An expected failure a user can act on; its message is shown without a traceback."""

    exit_code = 2

    def reworded(self: E, message: str) -> E:
        """This error with `message` in place of its own, keeping all else it knows (a
        render's file and line, its debug output)."""
        error = copy.copy(self)
        error.args = (message,)
        return error

    def as_dict(self) -> dict[str, Any]:
        """The error as a `--json` run prints it: what a script can act on, with the render's
        environment, release, file and line where they are known (null where not)."""
        return {
            "message": str(self),
            "exitCode": self.exit_code,
            "environment": None,
            "release": None,
            "file": None,
            "line": None,
        }


class CheckFailed(ToolkitError):
    """A check the user asked for found a problem (exit 1), e.g. `hydrate --validate`."""

    exit_code = 1


class InputError(ToolkitError, ValueError):
    """Bad input: config, arguments, constraints, values (exit 2)."""

    exit_code = 2


class RenderError(ToolkitError):
    """helm or kustomize failed (exit 3); the message carries the tool's stderr."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        debug: Callable[[], str] | None = None,
        file: str | None = None,
        line: int | None = None,
        environment: str | None = None,
        release: str | None = None,
    ) -> None:
        super().__init__(message)
        self._debug = debug
        self.file = file  # where it broke, repository-relative where it can be: a template
        self.line = line
        self.environment = environment  # what was rendering, where known (also in the message)
        self.release = release

    def as_dict(self) -> dict[str, Any]:
        where = {"environment": self.environment, "release": self.release}
        return {**super().as_dict(), **where, "file": self.file, "line": self.line}

    def debug_output(self) -> str:
        """What --debug shows for it instead of a traceback: the tool's own debug output,
        from running the failed command again with its debug flag (empty when it has none)."""
        return self._debug() if self._debug is not None else ""


class GitError(ToolkitError):
    """git failed: not a repository, push rejected after retries (exit 4)."""

    exit_code = 4
