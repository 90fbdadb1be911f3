"""Loading a human's YAML file safely, keeping line numbers for messages.

Every file is read as Kubernetes and helm read YAML (kubeyaml.py) and goes through the same
checks: at most 10 MiB, UTF-8, one document, bounded nesting, aliases within an expansion
budget (alias bombs), and errors reported as ``InputError("<relpath>:<line>: <problem>")``.
toolkit's own files refuse duplicate keys; helm's (values files, Chart.yaml, a repository's
index) take the last one, as helm does (``last_key_wins``).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from toolkit.infra.errors import InputError

if TYPE_CHECKING:
    import yaml

    from toolkit.infra.yamlnodes import LineTree

MAX_BYTES = 10 * 1024 * 1024

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlDocument:
    """A loaded YAML document: its data, and where each value was written."""

    path: Path
    data: Any
    display: str
    node: yaml.Node | None = field(default=None, repr=False, compare=False)
    # The lines without the nodes, for a document remembered by its content (yamlmemo.py).
    lines: LineTree | None = field(default=None, repr=False, compare=False)

    def line_of(self, *key_path: str | int) -> int | None:
        """The 1-based line of the entry at ``key_path`` (a mapping entry's key line, a list
        item's first line); the nearest existing ancestor's line when the path is missing."""
        if self.node is not None:
            from toolkit.infra import yamlnodes  # loaded already: the node was composed there

            return yamlnodes.line_in(self.node, key_path)
        return None if self.lines is None else line_in_tree(self.lines, key_path)

    def where(self, *key_path: str | int) -> str:
        """``"relpath:line"`` for messages (``"relpath"`` when the document is empty)."""
        line = self.line_of(*key_path)
        return self.display if line is None else f"{self.display}:{line}"

    def fail(self, key_path: KeyPath, message: str) -> NoReturn:
        """Raise InputError ``"relpath:line: message"`` for the entry at ``key_path``."""
        raise InputError(f"{self.where(*key_path)}: {message}")

    def mapping(
        self,
        key_path: KeyPath,
        value: Any,
        *,
        allowed: Collection[str] | None = None,
        required: Sequence[str] = (),
    ) -> dict[str, Any]:
        """``value`` (found at ``key_path``) as a mapping, None reading as empty; unknown keys
        (not in ``allowed``, when given) and missing ``required`` keys are errors."""
        label = dotted(key_path) or self.display
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.fail(key_path, f"{label} must be a mapping, found {describe(value)}")
        for key in value:  # keys are strings, as Kubernetes reads YAML
            if allowed is not None and key not in allowed:
                self.fail(
                    (*key_path, key),
                    f"unknown key '{key}' in {label}{did_you_mean(key, allowed)}; "
                    f"allowed keys: {', '.join(allowed)}",
                )
        for key in required:
            if value.get(key) is None:
                self.fail(key_path, f"{label} is missing the required key '{key}'")
        return value

    def sequence(self, key_path: KeyPath, value: Any) -> list[Any]:
        """``value`` (found at ``key_path``) as a list, None reading as empty."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key_path, f"{dotted(key_path)} must be a list, found {describe(value)}")
        return value

    def strings(self, key_path: KeyPath, value: Any) -> tuple[str, ...]:
        """``value`` (found at ``key_path``) as a list of strings, None reading as empty."""
        items = self.sequence(key_path, value)
        for index, item in enumerate(items):
            if not isinstance(item, str):
                self.fail(
                    (*key_path, index),
                    f"{dotted((*key_path, index))} must be a string, found {describe(item)}; "
                    "quote it",
                )
        return tuple(items)


def load(
    path: Path, *, root: Path, last_key_wins: bool = False, name: str | None = None
) -> YamlDocument:
    """Load the single YAML document in ``path``; messages name it relative to ``root`` (or
    as ``name`` says). ``last_key_wins``: a duplicate key replaces the earlier one (helm's
    files), else an error."""
    display = name or relative_name(path, root)
    return parse(read_bytes(path, display), path=path, display=display, last_key_wins=last_key_wins)


def load_text(
    text: str | bytes, *, name: str, max_bytes: int = MAX_BYTES, last_key_wins: bool = False
) -> YamlDocument:
    """Load YAML from a string (e.g. ``git show REF:path``) with the same checks as ``load``;
    ``max_bytes`` lifts the size limit for machine-written files (a repository's index)."""
    raw = text if isinstance(text, bytes) else _encode(text, name)
    if len(raw) > max_bytes:
        raise InputError(_too_large(name))
    return parse(raw, path=Path(name), display=name, last_key_wins=last_key_wins)


def read_text(path: Path, *, root: Path) -> str:
    """A text file's content after the size and UTF-8 checks that ``load`` applies."""
    display = relative_name(path, root)
    return _decode(read_bytes(path, display), display)


def relative_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with posix separators, or as given when outside it."""
    # Resolving touches the file system: only when the plain absolute paths do not nest.
    for absolute in (Path.absolute, Path.resolve):
        candidate, base = absolute(path), absolute(root)
        if candidate.is_relative_to(base):
            return candidate.relative_to(base).as_posix()
    return path.as_posix()


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    import difflib  # here, not above: only a mistake needs it, and every run loads this module

    matches = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


def dotted(key_path: KeyPath) -> str:
    """``("releases", 0, "name")`` as ``releases[0].name``."""
    text = ""
    for key in key_path:
        if isinstance(key, int):
            text += f"[{key}]"
        else:
            text += f".{key}" if text else key
    return text


def describe(value: Any) -> str:
    """A value as a message shows it: ``'text'``, ``the number 3``, ``a list``..."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def read_bytes(path: Path, display: str) -> bytes:
    """A file's bytes within the size limit; an InputError naming it as `display`."""
    try:
        with path.open("rb") as stream:
            # A regular file says its size (reading "up to the limit" would allocate 10 MiB
            # each time); a pipe or a device says 0 and is read up to the limit.
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_BYTES:
                raise InputError(_too_large(display))
            raw = stream.read() if size else stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{display}: file not found") from None
    except OSError as exc:
        raise InputError(f"{display}: cannot read the file: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise InputError(_too_large(display))
    return raw


def _too_large(display: str) -> str:
    return f"{display}: file is larger than 10 MiB, the limit for YAML input; split it up"


def _encode(text: str, name: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise InputError(f"{name}:{line}: not valid UTF-8; save the file as UTF-8") from None


def _decode(raw: bytes, display: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(
            f"{display}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column "
            f"{column}); save the file as UTF-8"
        ) from None


def parse(raw: bytes, *, path: Path, display: str, last_key_wins: bool) -> YamlDocument:
    """The document in `raw` (a file's bytes, already within the size limit)."""
    from toolkit.infra import yamlnodes  # here: a run whose files are remembered needs no parser

    text = _decode(raw, display).removeprefix("\ufeff")
    node, data = yamlnodes.compose(text, display=display, last_key_wins=last_key_wins)
    return YamlDocument(path=path, data=data, display=display, node=node)


def line_in_tree(tree: LineTree, key_path: Sequence[str | int]) -> int:
    """What ``yamlnodes.line_in`` gives for the node `tree` was made from."""
    line: int = tree[0]
    for key in key_path:
        children = tree[1]
        if isinstance(children, list):
            if not (isinstance(key, int) and 0 <= key < len(children)):
                break
            tree = children[key]
        elif isinstance(children, dict) and str(key) in children:
            tree = children[str(key)]
        else:
            break
        line = tree[0]
    return line
