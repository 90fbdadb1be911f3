"""The error hierarchy: one root, one subclass per exit code, caught once in cli.py."""

from __future__ import annotations

from collections.abc import Callable


class ToolkitError(Exception):
    """An expected failure a user can act on; its message is shown without a traceback."""

    exit_code = 2


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
    ) -> None:
        super().__init__(message)
        self._debug = debug
        self.file = file  # where it broke, repository-relative where it can be: a template
        self.line = line

    def debug_output(self) -> str:
        """What --debug shows for it instead of a traceback: the tool's own debug output,
        from running the failed command again with its debug flag (empty when it has none)."""
        return self._debug() if self._debug is not None else ""


class GitError(ToolkitError):
    """git failed: not a repository, push rejected after retries (exit 4)."""

    exit_code = 4
