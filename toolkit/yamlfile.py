"""Loading a human's YAML file safely, keeping line numbers for messages.

Every file goes through the same checks: at most 10 MiB, UTF-8, one document, no anchors
or aliases (alias bombs), no duplicate keys, bounded nesting, and syntax errors reported as
``InputError("<relpath>:<line>: <problem>")``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from toolkit.errors import InputError

MAX_BYTES = 10 * 1024 * 1024
# libyaml's composer recurses in C and crashes the interpreter on very deep nesting.
MAX_DEPTH = 200

KeyPath = tuple[str | int, ...]

_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)
_COLLECTION_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


@dataclass(frozen=True)
class YamlDocument:
    """A loaded YAML document: its data, and where each value was written."""

    path: Path
    data: Any
    display: str
    node: yaml.Node | None = field(default=None, repr=False, compare=False)

    def line_of(self, *key_path: str | int) -> int | None:
        """The 1-based line of the entry at ``key_path`` (a mapping entry's key line, a list
        item's first line); the nearest existing ancestor's line when the path is missing."""
        node = self.node
        if node is None:
            return None
        line = node.start_mark.line + 1
        for key in key_path:
            entry = _child(node, key)
            if entry is None:
                break
            node, line = entry
        return line

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
        """``value`` (found at ``key_path``) as a mapping with string keys, None reading as
        empty; unknown keys (not in ``allowed``, when given) and missing ``required`` keys
        are errors."""
        label = dotted(key_path) or self.display
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.fail(key_path, f"{label} must be a mapping, found {describe(value)}")
        for key in value:
            if not isinstance(key, str):
                self.fail(key_path, f"{label}: key {key!r} must be a string; quote it")
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


def load(path: Path, *, root: Path) -> YamlDocument:
    """Load the single YAML document in ``path``; messages name it relative to ``root``."""
    display = relative_name(path, root)
    return _parse(_read_bytes(path, display), path=path, display=display)


def load_text(text: str | bytes, *, name: str, max_bytes: int = MAX_BYTES) -> YamlDocument:
    """Load YAML from a string (e.g. ``git show REF:path``) with the same checks as ``load``;
    ``max_bytes`` lifts the size limit for machine-written files (a repository's index)."""
    raw = text if isinstance(text, bytes) else _encode(text, name)
    if len(raw) > max_bytes:
        raise InputError(_too_large(name))
    return _parse(raw, path=Path(name), display=name)


def read_text(path: Path, *, root: Path) -> str:
    """A text file's content after the size and UTF-8 checks that ``load`` applies."""
    display = relative_name(path, root)
    return _decode(_read_bytes(path, display), display)


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


def _read_bytes(path: Path, display: str) -> bytes:
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


def _parse(raw: bytes, *, path: Path, display: str) -> YamlDocument:
    text = _decode(raw, display).removeprefix("\ufeff")
    try:
        _check_events(text, display)
        loader = _LOADER(text)
        node = loader.get_single_node()
        if node is not None:
            _check_duplicate_keys(node, display)
        data = None if node is None else _construct(loader, node, display)
    except yaml.MarkedYAMLError as exc:
        raise InputError(_marked_message(exc, display)) from None
    except yaml.reader.ReaderError as exc:
        raise InputError(_reader_message(exc, text, display)) from None
    except yaml.YAMLError as exc:
        raise InputError(f"{display}: invalid YAML: {exc}") from None
    return YamlDocument(path=path, data=data, display=display, node=node)


def _construct(loader: yaml.SafeLoader | yaml.CSafeLoader, node: yaml.Node, display: str) -> Any:
    try:
        return loader.construct_document(node)
    except (ValueError, TypeError, OverflowError) as exc:
        # A well-formed scalar that its tag cannot hold, e.g. the date 2024-02-30.
        raise InputError(f"{display}: invalid value: {exc}; quote it to keep it a string") from None


def _check_events(text: str, display: str) -> None:
    """Refuse anchors, aliases, a second document and deep nesting before composing: the
    composer would expand an alias bomb or overflow the C stack."""
    loader = _LOADER(text)
    documents = depth = 0
    try:
        while (event := loader.get_event()) is not None:
            _refuse_anchor(event, display)
            documents += isinstance(event, yaml.DocumentStartEvent)
            if documents > 1:
                raise InputError(
                    f"{_at(display, event)}: a second YAML document ('---') is not allowed; "
                    "keep one document per file"
                )
            depth += 1 if isinstance(event, _COLLECTION_START) else 0
            depth -= 1 if isinstance(event, _COLLECTION_END) else 0
            if depth > MAX_DEPTH:
                raise InputError(
                    f"{_at(display, event)}: nested more than {MAX_DEPTH} levels deep; flatten it"
                )
    finally:
        loader.dispose()


def _refuse_anchor(event: yaml.Event, display: str) -> None:
    if isinstance(event, yaml.AliasEvent):
        raise InputError(
            f"{_at(display, event)}: YAML alias '*{event.anchor}' is not allowed; "
            "write the value out in full"
        )
    anchor = getattr(event, "anchor", None)
    if anchor is not None:
        raise InputError(
            f"{_at(display, event)}: YAML anchor '&{anchor}' is not allowed; "
            "write the value out in full where it is used"
        )


def _at(display: str, event: yaml.Event) -> str:
    mark = event.start_mark
    return display if mark is None else f"{display}:{mark.line + 1}"


def _check_duplicate_keys(root: yaml.Node, display: str) -> None:
    pending = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                pending.extend((key, value))
                if isinstance(key, yaml.ScalarNode):
                    _refuse_duplicate(seen, key, display)


def _refuse_duplicate(seen: dict[tuple[str, str], int], key: yaml.ScalarNode, display: str) -> None:
    line = key.start_mark.line + 1
    first = seen.get((key.tag, key.value))
    if first is not None:
        raise InputError(
            f"{display}:{line}: duplicate key '{key.value}' (first on line {first}); "
            "remove one of them"
        )
    seen[key.tag, key.value] = line


def _marked_message(exc: yaml.MarkedYAMLError, display: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = display if mark is None else f"{display}:{mark.line + 1}"
    problem = exc.problem or exc.context or "invalid YAML"
    column = "" if mark is None else f" (column {mark.column + 1})"
    context = f", {exc.context}" if exc.context and exc.problem else ""
    return f"{where}: invalid YAML: {problem}{column}{context}"


def _reader_message(exc: yaml.reader.ReaderError, text: str, display: str) -> str:
    # libyaml reports a byte offset, the pure-Python reader a character offset.
    if _LOADER is yaml.SafeLoader:
        line = text.count("\n", 0, exc.position) + 1
    else:
        line = text.encode("utf-8").count(b"\n", 0, exc.position) + 1
    character = exc.character if isinstance(exc.character, int) else ord(exc.character)
    return f"{display}:{line}: invalid YAML: {exc.reason} (character 0x{character:02x})"


def _child(node: yaml.Node, key: str | int) -> tuple[yaml.Node, int] | None:
    if isinstance(node, yaml.SequenceNode):
        if isinstance(key, int) and 0 <= key < len(node.value):
            item: yaml.Node = node.value[key]
            return item, item.start_mark.line + 1
        return None
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(key):
                return value_node, key_node.start_mark.line + 1
    return None
