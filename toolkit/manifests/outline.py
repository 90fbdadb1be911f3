"""The outline of a rendered document, read from its lines: what identity, layout and CRD scope
need (apiVersion, kind, metadata.name and .namespace; a CRD's group, scope and kind), and where
a namespace line goes, without parsing the document.

The scan trusts only the common block style and says None where a document is anything else, so
that the caller parses it in full: a duplicate, quoted-with-escapes, tagged, anchored, merged or
flow-style field it needs, a multi-line value there, or anywhere a quoted scalar or flow
collection left open at the end of its line (such text may run over lines that only look like
keys; structure.py says where). For a valid YAML document the outline is what a YAML
parser reads; it does not check that the document is valid YAML (helm and kustomize print
documents they parsed themselves, but for a chart's crds/ files).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from toolkit.infra import kubescalars, kubeyaml
from toolkit.manifests import structure

_KEY_LINE = re.compile(rf"{structure.KEY}[ ]*:(?:[ ]+(?P<value>[^\n]*?))?[ ]*(?:\n|\Z)")
_VALUE = re.compile(
    r"""(?:(?P<plain>[^\s#'"\[\]{}&*!|>%@`,?:-][^\s#]*)|"(?P<dq>[^"\\\n]*)"|'(?P<sq>[^'\n]*)')"""
    r"(?:[ ]+#[^\n]*)?"
)
# Patterns that start with a line break find lines fast (re scans for the literal first).
_TOP_LINE = re.compile(r"\n[^ \t\n#]")
_FIRST_TOP_LINE = re.compile(r"[^ \t\n#]")
_CONTENT_LINE = re.compile(r"\n([ ]*)[^ \n#]")


@functools.cache
def _lines_at(indent: int) -> re.Pattern[str]:
    """Lines (after a line break) indented exactly `indent` spaces, not blank nor comments."""
    return re.compile(rf"\n[ ]{{{indent}}}[^ \t\n#]")


@dataclass(frozen=True)
class _Key:
    start: int  # where the key's line starts
    end: int  # where the key's line ends (after its newline)
    value: str | None  # the text after `key:` on its line, None where there is none


@dataclass(frozen=True)
class Outline:
    """What the lines say of a document (all fields as a YAML parser would read them)."""

    api_version: str
    kind: str
    name: str
    namespace: str | None  # None where absent, null or empty
    # For a CRD: its spec's group, names.kind and scope.
    crd: tuple[str, str, str] | None
    deep: bool  # some line is indented so far that the nesting depth must be measured
    _metadata_indent: int
    _name_end: int
    _namespace_line: tuple[int, int] | None  # a `namespace:` line with an empty value

    def with_namespace(self, text: str, namespace: str) -> str:
        """`text` with `metadata.namespace: namespace` (after the name, or in place of an empty
        namespace line); nothing else changes."""
        shown = namespace if kubeyaml.reads_as_itself(namespace) else json.dumps(namespace)
        line = f"{' ' * self._metadata_indent}namespace: {shown}\n"
        start, end = self._namespace_line or (self._name_end, self._name_end)
        return text[:start] + line + text[end:]


def _unquoted_key(raw: str) -> str | None:
    """A key's text: plain as written, quoted without escapes; None for anything else."""
    if raw[0] == '"':
        return None if "\\" in raw else raw[1:-1]
    if raw[0] == "'":
        return raw[1:-1].replace("''", "'")
    return None if raw == "<<" else raw


def _line_starts(text: str, start: int, end: int, indent: int) -> Iterator[int]:
    """Where the lines indented exactly `indent` in [start, end) start (not blank, comments,
    nor `- ` entries); `start` is a line's start."""
    if indent == 0 and start == 0 and _FIRST_TOP_LINE.match(text):
        yield 0
    for line in (_TOP_LINE if indent == 0 else _lines_at(indent)).finditer(
        text, max(start - 1, 0), end
    ):
        yield line.start() + 1


def _keys(text: str, start: int, end: int, indent: int) -> dict[str, _Key] | None:
    """The keys of the block mapping whose entries are the lines at `indent` in [start, end)."""
    keys: dict[str, _Key] = {}
    for line_start in _line_starts(text, start, end, indent):
        column = line_start + indent
        if text[column] == "-":
            continue  # an entry of the sequence a key's value holds (`key:` then `- x`)
        line_end = text.find("\n", column)
        line_end = len(text) if line_end < 0 else line_end + 1
        match = _KEY_LINE.match(text, column, line_end)
        if match is None:
            return None
        key = _unquoted_key(match["key"])
        if key is None or key in keys:
            return None
        keys[key] = _Key(line_start, line_end, match["value"] or None)
    return keys


def _section_end(keys: dict[str, _Key], key: _Key, end: int) -> int:
    later = [other.start for other in keys.values() if other.start > key.start]
    return min(later, default=end)


def _children(text: str, key: _Key, end: int, indent: int) -> dict[str, _Key] | None:
    """The block mapping that is `key`'s value, or None where it is not one in plain style."""
    if key.value is not None and not key.value.startswith("#"):
        return None
    child = _CONTENT_LINE.search(text, key.end - 1, end)
    if child is None:
        return {}
    child_indent = len(child[1])
    if child_indent <= indent:
        return {}
    # A line less indented than the first child but inside the section is not plain block style.
    if structure.less_indented(child_indent).search(text, child.start(), end):
        return None
    return _keys(text, key.end, end, child_indent)


def _continues(text: str, key: _Key, end: int, indent: int) -> bool:
    """Whether `key`'s value could go on over the next lines (a multi-line plain scalar, or a
    block sequence at the key's own indentation)."""
    following = _CONTENT_LINE.search(text, key.end - 1, end)
    if following is None:
        return False
    column = len(following[1])
    return column > indent or (column == indent and text[following.end() - 1] == "-")


def _scalar(text: str, keys: dict[str, _Key], name: str, end: int, indent: int) -> str | None:
    """A string field's value as a YAML parser reads it; "" where it is absent, null or empty;
    None where the scan cannot be sure (then the caller parses the document)."""
    key = keys.get(name)
    if key is None:
        return ""
    if _continues(text, key, _section_end(keys, key, end), indent):
        return None
    if key.value is None or key.value.startswith("#"):
        return ""
    match = _VALUE.fullmatch(key.value)
    if match is None:
        return None
    if match["plain"] is not None:
        value = kubescalars.plain_value(match["plain"])
        return "" if value is None else value if isinstance(value, str) else None
    return match["dq"] if match["dq"] is not None else match["sq"].replace("''", "'")


def _crd(text: str, top: dict[str, _Key], end: int) -> tuple[str, str, str] | None:
    spec_key = top.get("spec")
    if spec_key is None:
        return None
    spec_end = _section_end(top, spec_key, end)
    spec = _children(text, spec_key, spec_end, 0)
    if not spec or "names" not in spec:
        return None
    spec_indent = _indent_of(text, spec["names"].start)
    names_key = spec["names"]
    names_end = _section_end(spec, names_key, spec_end)
    names = _children(text, names_key, names_end, spec_indent)
    if not names:
        return None
    names_indent = _indent_of(text, next(iter(names.values())).start)
    group = _scalar(text, spec, "group", spec_end, spec_indent)
    scope = _scalar(text, spec, "scope", spec_end, spec_indent)
    kind = _scalar(text, names, "kind", names_end, names_indent)
    if group is None or scope is None or not kind:
        return None
    return group, kind, scope


def _indent_of(text: str, line_start: int) -> int:
    column = line_start
    while text.startswith(" ", column):
        column += 1
    return column - line_start


def scan(text: str) -> Outline | None:
    """The outline of one document, or None where its lines do not settle it."""
    plain, deep = structure.is_plain(text)
    if not plain:
        return None
    end = len(text)
    top = _keys(text, 0, end, 0)
    if not top or "metadata" not in top:
        return None
    api_version = _scalar(text, top, "apiVersion", end, 0)
    kind = _scalar(text, top, "kind", end, 0)
    metadata_key = top["metadata"]
    metadata_end = _section_end(top, metadata_key, end)
    metadata = _children(text, metadata_key, metadata_end, 0)
    if not api_version or not kind or not metadata or "name" not in metadata:
        return None
    if kind.endswith("List") and "items" in top:
        return None  # unpacked into its items: the caller parses it
    indent = _indent_of(text, metadata["name"].start)
    name = _scalar(text, metadata, "name", metadata_end, indent)
    namespace = _scalar(text, metadata, "namespace", metadata_end, indent)
    if not name or namespace is None:
        return None
    crd = None
    if kind == "CustomResourceDefinition":
        crd = _crd(text, top, end)
        if crd is None:
            return None
    empty_namespace = metadata.get("namespace") if not namespace else None
    return Outline(
        api_version=api_version,
        kind=kind,
        name=name,
        namespace=namespace or None,
        crd=crd,
        deep=deep,
        _metadata_indent=indent,
        _name_end=metadata["name"].end,
        _namespace_line=(empty_namespace.start, empty_namespace.end) if empty_namespace else None,
    )
