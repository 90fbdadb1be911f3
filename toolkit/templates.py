"""The project's one Jinja2 factory: a sandbox, undefined names as errors, output kept byte for
byte, templates loaded by path inside the repository, and template errors as ``file:line``
messages. Values templates (values.py) and the commit message (message.py) render through it.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
import jinja2.exceptions
import jinja2.sandbox

from toolkit import yamlfile
from toolkit.config import safe_path
from toolkit.errors import InputError, ToolkitError

_UNDEFINED_NAME = re.compile(r"'([^']+)' is undefined|has no (?:attribute|element) '([^']+)'")


def template_environment() -> jinja2.sandbox.SandboxedEnvironment:
    """The Jinja2 environment for templates given as strings (the commit message): sandboxed,
    undefined names are errors, output kept byte for byte."""
    return _sandbox(None)


def render_file(
    path: Path, context: Mapping[str, Any], *, root: Path
) -> tuple[str, tuple[Path, ...]]:
    """The template file ``path`` (inside ``root``) rendered, and every file it asked for
    (found or not); template errors become InputError ``"file:line: ..."``."""
    loader = _RootedLoader(root)
    name = yamlfile.relative_name(path, root)
    try:
        text = _render_bounded(_sandbox(loader).get_template(name), context, name)
    except ToolkitError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        where = _where(exc.filename or name, exc.lineno, root)
        raise InputError(
            f"{where}: template syntax error: {exc.message}; fix the Jinja2 syntax"
        ) from None
    except jinja2.UndefinedError as exc:
        where = _error_location(exc, loader, name)
        raise InputError(f"{where}: {_undefined_message(exc, context)}") from None
    except jinja2.exceptions.SecurityError as exc:
        raise InputError(
            f"{_error_location(exc, loader, name)}: template refused: {exc.message}; templates "
            "may only use their variables, not Python internals"
        ) from None
    except (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        where = _error_location(exc, loader, name)
        raise InputError(f"{where}: template failed: {exc}") from None
    return text, tuple(sorted(loader.requested))


def _sandbox(loader: jinja2.BaseLoader | None) -> jinja2.sandbox.SandboxedEnvironment:
    return jinja2.sandbox.SandboxedEnvironment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


class _RootedLoader(jinja2.BaseLoader):
    """Loads templates by path relative to ``root``, through the same size and UTF-8 checks
    as YAML files, refusing paths (and symlinks) that lead outside it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.served: set[str] = set()
        # Missing ones too: `{% include ... ignore missing %}` reads a file once it exists.
        self.requested: set[Path] = set()

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        path = safe_path(self.root, self.root, template, where=f"template '{template}'")
        self.requested.add(path)
        if not path.is_file():
            raise jinja2.TemplateNotFound(template)
        mtime = path.stat().st_mtime
        source = yamlfile.read_text(path, root=self.root)
        self.served.add(str(path))
        return source, str(path), lambda: path.stat().st_mtime == mtime


def _render_bounded(template: jinja2.Template, context: Mapping[str, Any], name: str) -> str:
    """Render, stopping once the output passes the YAML size limit (a loop can multiply)."""
    chunks: list[str] = []
    size = 0
    for chunk in template.generate(context):
        size += len(chunk)
        if size > yamlfile.MAX_BYTES:
            raise InputError(f"{name}: template output passes 10 MiB; check its loops")
        chunks.append(chunk)
    return "".join(chunks)


def _error_location(exc: BaseException, loader: _RootedLoader, name: str) -> str:
    """``file:line`` of the innermost template frame in ``exc``'s traceback (Jinja2 rewrites
    tracebacks so template frames carry the template's file and line)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename in loader.served:
            return _where(frame.filename, frame.lineno, loader.root)
    return name


def _where(filename: str, line: int | None, root: Path) -> str:
    shown = yamlfile.relative_name(Path(filename), root)
    return shown if line is None else f"{shown}:{line}"


def _undefined_message(exc: jinja2.UndefinedError, context: Mapping[str, Any]) -> str:
    """The undefined name, a suggestion, and which variables exist."""
    names = [*context]
    described = []
    for key, value in context.items():
        if isinstance(value, Mapping):
            names.extend(map(str, value))
            described.append(f"{key} ({', '.join(map(str, value)) or 'empty'})")
        else:
            described.append(key)
    match = _UNDEFINED_NAME.search(exc.message or "")
    missing = next((group for group in match.groups() if group), "") if match else ""
    return (
        f"{exc.message}{yamlfile.did_you_mean(missing, names)}; "
        f"variables available: {', '.join(described)}"
    )
