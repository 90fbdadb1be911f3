"""The project's one Jinja2 factory: a sandbox, undefined names as errors, output kept byte for
byte, templates loaded by path inside the repository, limits on time, size and depth, and
template errors as ``file:line`` messages. Values templates (values.py) and the commit message
(message.py) render through it.
"""

from __future__ import annotations

import math
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import jinja2
import jinja2.exceptions
import jinja2.nodes
import jinja2.sandbox
import jinja2.visitor

from toolkit.infra import yamlfile
from toolkit.infra.errors import InputError, ToolkitError
from toolkit.infra.paths import safe_path

_UNDEFINED_NAME = re.compile(r"'([^']+)' is undefined|has no (?:attribute|element) '([^']+)'")

# Limits of one render, values templates and the commit message alike: real templates take
# milliseconds, kilobytes and a few levels of macros, so these only stop runaway ones.
TIME_LIMIT = 10.0  # seconds of the rendering thread's CPU time
MAX_SIZE = yamlfile.MAX_BYTES  # the output, and any string or list made on the way
MAX_DEPTH = 100  # calls inside calls: macros, recursive loops, callables
_MAX_POWER_BITS = 8 * MAX_SIZE  # an integer `**` larger than this is refused before it runs


class LimitExceeded(Exception):
    """A render passed one of the limits; the caller names the template."""


@dataclass
class _Budget:
    """What one render may still spend (per thread: renders may run side by side)."""

    deadline: float
    depth: int = 0

    def tick(self) -> None:
        if time.thread_time() > self.deadline:
            raise LimitExceeded(
                f"ran longer than {TIME_LIMIT:g} s of CPU time (the limit); check its loops"
            )


_current = threading.local()


def _budget() -> _Budget | None:
    return getattr(_current, "budget", None)


def _tick() -> None:
    budget = _budget()
    if budget is not None:
        budget.tick()


def _sized(value: Any) -> Any:
    """`value`, refused when it is a string or collection larger than the limit."""
    if isinstance(value, (str, bytes, list, tuple, dict)) and len(value) > MAX_SIZE:
        raise LimitExceeded(
            f"made a value of {len(value):,} items or characters, more than the limit of "
            f"{MAX_SIZE:,}; check its loops and repetitions"
        )
    return value


def _metered(iterable: Iterable[Any]) -> Iterator[Any]:
    """A loop's items, each one counted against the time limit (an empty loop body is a loop
    too)."""
    for item in iterable:
        _tick()
        yield item


def _check_operands(operator: str, left: Any, right: Any) -> None:
    """Refuse `'x' * 10**10` and `10 ** 10**10` before they take the memory or the time."""
    if operator == "*":
        for sequence, count in ((left, right), (right, left)):
            repeated = isinstance(sequence, (str, bytes, list, tuple)) and isinstance(count, int)
            if repeated and len(sequence) * count > MAX_SIZE:
                raise LimitExceeded(
                    f"repeats a value to {len(sequence) * count:,} items or characters, "
                    f"more than the limit of {MAX_SIZE:,}"
                )
    integers = isinstance(left, int) and isinstance(right, int)
    if (
        operator == "**"
        and integers
        and abs(left) > 1
        and right * math.log2(abs(left)) > _MAX_POWER_BITS
    ):
        raise LimitExceeded(f"computes {left} ** {right}, a number too large to compute")


class _Guards(jinja2.visitor.NodeTransformer):
    """Routes what a template repeats through the budget: every loop's items are metered, and
    every concatenation (`~`) and filter result is size-checked."""

    def visit_For(self, node: jinja2.nodes.For) -> jinja2.nodes.Node:
        self.generic_visit(node)
        node.iter = _guard("toolkit_metered", cast(jinja2.nodes.Expr, node.iter))
        return node

    def visit_Concat(self, node: jinja2.nodes.Concat) -> jinja2.nodes.Node:
        self.generic_visit(node)
        return _guard("toolkit_sized", node)

    def visit_Filter(self, node: jinja2.nodes.Filter) -> jinja2.nodes.Node:
        self.generic_visit(node)
        # `{% filter %}` blocks hold a Filter without an operand: their output is counted.
        return node if node.node is None else _guard("toolkit_sized", node)


def _guard(attribute: str, node: jinja2.nodes.Expr) -> jinja2.nodes.Expr:
    return jinja2.nodes.Call(
        jinja2.nodes.EnvironmentAttribute(attribute, lineno=node.lineno),
        [node],
        [],
        None,
        None,
        lineno=node.lineno,
    )


class _BoundedSandbox(jinja2.sandbox.SandboxedEnvironment):
    """The sandbox with the limits: loops, calls, operators, concatenations and filters all
    answer to the current render's budget."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    toolkit_metered = staticmethod(_metered)
    toolkit_sized = staticmethod(_sized)

    def compile(
        self,
        source: str | jinja2.nodes.Template,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        if isinstance(source, str):
            source = self.parse(source, name, filename)
        guarded = _Guards().visit(source)
        compile_guarded: Any = super().compile  # overloaded on `raw`; passed through as given
        return compile_guarded(guarded, name, filename, raw, defer_init)

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        _tick()
        _check_operands(operator, left, right)
        return _sized(super().call_binop(context, operator, left, right))

    def call(
        __self,  # Jinja2's own spelling: no keyword argument of the call can clash with it
        __context: jinja2.runtime.Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        budget = _budget()
        if budget is None:
            return _sized(super().call(__context, __obj, *args, **kwargs))
        budget.tick()
        if budget.depth >= MAX_DEPTH:
            raise LimitExceeded(
                f"calls nest deeper than {MAX_DEPTH} levels (the limit); check its recursion"
            )
        budget.depth += 1
        try:
            return _sized(super().call(__context, __obj, *args, **kwargs))
        finally:
            budget.depth -= 1


def render(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """Render within the limits (time, size, depth); LimitExceeded when one is passed."""
    outer = _budget()
    _current.budget = _Budget(deadline=time.thread_time() + TIME_LIMIT)
    chunks: list[str] = []
    size = 0
    try:
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_SIZE:
                raise LimitExceeded(
                    f"output passes {MAX_SIZE // 2**20} MiB (the limit); check its loops"
                )
            chunks.append(chunk)
    except RecursionError:
        raise LimitExceeded(
            "recursion too deep for Python (the limit); check its recursion"
        ) from None
    except MemoryError:
        raise LimitExceeded("needed more memory than there is; check its repetitions") from None
    finally:
        _current.budget = outer
    return "".join(chunks)


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
        text = render(_sandbox(loader).get_template(name), context)
    except ToolkitError:
        raise
    except LimitExceeded as exc:
        raise InputError(f"{_error_location(exc, loader, name)}: template {exc}") from None
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
    return _BoundedSandbox(
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
