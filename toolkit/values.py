"""Values for one release, and the project's one Jinja2 factory.

A release's values are its ``values:`` files in order, then its ``set:`` mapping, merged
with Helm's rules for user values (see ``deep_merge``). Files ending ``.j2`` are Jinja2
templates, rendered in a sandbox and then read as YAML. A values template sees:

- ``env``: ``{"name": "dev", "kubeVersion": "1.33.0" or None, "apiVersions": [...]}``
- ``vars``: the environment's ``vars`` mapping from toolkit.yaml
- ``release``: ``{"name": "api", "namespace": "api"}``

so ``host: api.{{ vars.domain }}`` or ``{% if env.name == "production" %}`` work, and a
name that is not defined is an error rather than an empty string.
"""

from __future__ import annotations

import copy
import re
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
import jinja2.exceptions
import jinja2.sandbox

from toolkit import yamlfile
from toolkit.config import Environment, safe_path
from toolkit.errors import InputError, ToolkitError
from toolkit.releases import Release

TEMPLATE_SUFFIX = ".j2"
_UNDEFINED_NAME = re.compile(r"'([^']+)' is undefined|has no (?:attribute|element) '([^']+)'")


def merged_values(release: Release, environment: Environment, *, root: Path) -> dict[str, Any]:
    """``release.values`` in order, then ``release.set``, merged as Helm merges ``-f`` files
    and ``--set``; templates rendered first."""
    context = template_context(release, environment)
    merged: dict[str, Any] = {}
    for path in release.values:
        merged = deep_merge(merged, _values_file(path, context, root=root))
    return deep_merge(merged, copy.deepcopy(dict(release.set)))


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's merge of user values: maps merge key by key, recursively; any other value in
    ``override`` (a scalar, a list, or null) replaces the one in ``base``. A null is kept,
    as Helm keeps it, so that Helm then deletes that key from the chart's own defaults.
    The arguments are not modified (nested values are shared with them, not copied)."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def template_context(release: Release, environment: Environment) -> dict[str, Any]:
    """The variables a values template sees (a fresh copy: a template cannot change them)."""
    return {
        "env": {
            "name": environment.name,
            "kubeVersion": environment.kube_version,
            "apiVersions": list(environment.api_versions),
        },
        "vars": copy.deepcopy(dict(environment.vars)),
        "release": {"name": release.name, "namespace": release.namespace},
    }


def template_environment(loader_root: Path | None = None) -> jinja2.sandbox.SandboxedEnvironment:
    """The Jinja2 environment for every template the toolkit renders: sandboxed, undefined
    names are errors, output kept byte for byte. With ``loader_root``, templates (and their
    ``include``s) load by path relative to it and may not leave it."""
    return _sandbox(None if loader_root is None else _RootedLoader(loader_root))


def render_template(path: Path, context: Mapping[str, Any], *, root: Path) -> str:
    """Render the template file ``path`` (inside ``root``); template errors become
    InputError ``"file:line: ..."``."""
    loader = _RootedLoader(root)
    name = yamlfile.relative_name(path, root)
    try:
        return _render_bounded(_sandbox(loader).get_template(name), context, name)
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

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        path = safe_path(self.root, self.root, template, where=f"template '{template}'")
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


def _values_file(path: Path, context: Mapping[str, Any], *, root: Path) -> dict[str, Any]:
    if path.name.endswith(TEMPLATE_SUFFIX):
        name = f"{yamlfile.relative_name(path, root)} (rendered)"
        doc = yamlfile.load_text(render_template(path, context, root=root), name=name)
    else:
        doc = yamlfile.load(path, root=root)
    if doc.data is not None and not isinstance(doc.data, dict):
        doc.fail(
            (),
            f"a values file holds a mapping at the top level (e.g. replicaCount: 2), found "
            f"{yamlfile.describe(doc.data)}",
        )
    return doc.mapping((), doc.data)


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
