"""YAML as Kubernetes reads it, and YAML that Kubernetes reads back the same.

helm (values files, `fromYaml`, Chart.yaml), kubectl and Argo CD read YAML with
sigs.k8s.io/yaml: its fork of go-yaml v2 resolves each plain scalar, then the result is
converted to JSON. The rules, checked against helm 3.18 and helm 4.1:

- booleans: y Y yes Yes YES n N no No NO true True TRUE false False FALSE on On ON off Off OFF;
- null: the empty scalar, ~ null Null NULL;
- integers: Go's strconv.ParseInt(s without '_', base 0), then ParseUint (0o755, 0755, 0x1F,
  0b101, 1_000); a float where that fails but the text matches go-yaml's float pattern (so
  08 and 1e3 are floats); .inf/.nan forms; a number out of range stays a string (1e400);
- timestamps, dates, base 60 (1:30) and YAML 1.1's `=` stay strings;
- merge keys (`<<`) are honoured in order: a merged mapping overrides the keys before it, and
  in a list of merged mappings the first one wins; duplicate keys: the last one wins;
- the JSON step: keys become strings (true, 1, 1.5, computed as Go prints them), a null,
  unsigned 64-bit or collection key is an error, and so are .inf and .nan values.

`load` reads one document that way (C-accelerated composition, then a small converter), within
limits (nesting depth, nodes added by aliases); `dump` writes values so that every scalar reads
back as the same value, here and under YAML 1.1 and 1.2 readers alike.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import yaml

from toolkit.infra.kubescalars import (
    AMBIGUOUS_TAG,
    MAP_TAG,
    MERGE_TAG,
    PLAIN_TAG,
    SEQ_TAG,
    STR_TAG,
    key_text,
    plain_value,
    tag_of,
    tagged_value,
)
from toolkit.infra.kubescalars import KubeYamlError as KubeYamlError  # the error of every read here

# libyaml's composer recurses in C and crashes the interpreter on very deep nesting.
MAX_DEPTH = 200
# An alias may be used freely, but all aliases of a document together may add at most this
# many nodes to it (an alias bomb adds billions).
MAX_ALIAS_NODES = 100_000

# PyYAML's safe loader on libyaml, where PyYAML was built with it (about 30 times as fast).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# --- documents ------------------------------------------------------------------------------


class _Unresolved:
    """A composer that leaves every plain scalar unresolved (go-yaml's rules resolve it)."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            return PLAIN_TAG if implicit[0] else STR_TAG
        return SEQ_TAG if kind is yaml.SequenceNode else MAP_TAG


class _CComposer(_Unresolved, SAFE_LOADER):  # type: ignore[valid-type,misc]
    pass


class _PyComposer(_Unresolved, yaml.SafeLoader):
    pass


# The pure-Python parser and composer where PyYAML was built without libyaml.
_PARSER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = SAFE_LOADER
_COMPOSER: type[yaml.SafeLoader] = _CComposer if SAFE_LOADER is not yaml.SafeLoader else _PyComposer


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _Converter:
    """A composed node graph into JSON-like values, with go-yaml v2's decoding rules."""

    def __init__(self) -> None:
        self.depth = 0

    def value(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value = self.scalar(node)
            if isinstance(value, float) and not math.isfinite(value):
                raise KubeYamlError(
                    f"'{node.value}' is not a number JSON can hold (Kubernetes and helm refuse "
                    "it); quote it to make it a string",
                    _line(node),
                )
            return value
        self.depth += 1
        if self.depth > MAX_DEPTH:  # a recursive alias, or nesting the checks let through
            raise KubeYamlError(f"nested more than {MAX_DEPTH} levels deep", _line(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.value(item) for item in node.value]
            mapping: dict[str, Any] = {}
            self.fill(mapping, node)  # a MappingNode: libyaml composes no other kind
            return mapping
        finally:
            self.depth -= 1

    @staticmethod
    def scalar(node: yaml.ScalarNode) -> Any:
        if node.tag == PLAIN_TAG:
            return plain_value(node.value)
        return tagged_value(node.tag, node.value, _line(node))

    def fill(self, mapping: dict[str, Any], node: yaml.Node) -> None:
        for key_node, value_node in node.value:
            if (
                isinstance(key_node, yaml.ScalarNode)
                and key_node.value == "<<"
                and (key_node.tag in (PLAIN_TAG, MERGE_TAG))
            ):
                self.merge(mapping, value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise KubeYamlError("a mapping or list is not allowed as a key", _line(key_node))
            key = key_text(self.scalar(key_node), _line(key_node))
            mapping[key] = self.value(value_node)

    def merge(self, mapping: dict[str, Any], node: yaml.Node) -> None:
        """go-yaml v2's `<<`: the merged entries override what came before; from a list, the
        first mapping wins (they are applied last to first)."""
        if isinstance(node, yaml.MappingNode):
            self.fill(mapping, node)
            return
        if isinstance(node, yaml.SequenceNode) and all(
            isinstance(item, yaml.MappingNode) for item in node.value
        ):
            for item in reversed(node.value):
                self.fill(mapping, item)
            return
        raise KubeYamlError(
            "map merge (<<) requires a mapping or a list of mappings as the value", _line(node)
        )


def _events(text: str) -> Iterator[yaml.Event]:
    parser = _PARSER(text)
    try:
        while (event := parser.get_event()) is not None:
            yield event
    finally:
        parser.dispose()


_COLLECTION_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def check_events(text: str, *, max_documents: int | None = None) -> None:
    """Nesting depth, the nodes aliases add and (optionally) the number of documents, from the
    event stream before anything is composed: libyaml's parser keeps its own stack, so a bomb
    or a million nested brackets is measured without recursion or expansion."""
    depth = documents = 0
    expanded = added = 0  # nodes so far as an alias-expanding reader sees them; by aliases
    opened: list[tuple[str | None, int]] = []  # (anchor, expanded count at its start)
    sizes: dict[str, int] = {}
    try:
        for event in _events(text):
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if max_documents is not None and documents > max_documents:
                    raise KubeYamlError(
                        "a second YAML document ('---') is not allowed; keep one document per file",
                        line,
                    )
            elif isinstance(event, yaml.AliasEvent):
                size = sizes.get(event.anchor or "")
                if size is None:
                    raise KubeYamlError(
                        f"alias '*{event.anchor}' refers to no finished anchor (undefined, or "
                        "inside its own value)",
                        line,
                    )
                expanded += size
                added += size
                if added > MAX_ALIAS_NODES:
                    raise KubeYamlError(
                        f"YAML aliases add more than {MAX_ALIAS_NODES:,} nodes (an alias bomb?); "
                        "use fewer aliases or write the values out",
                        line,
                    )
            elif isinstance(event, yaml.ScalarEvent):
                expanded += 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, _COLLECTION_START):
                depth += 1
                if depth > MAX_DEPTH:
                    raise KubeYamlError(
                        f"nested more than {MAX_DEPTH} levels deep; flatten it", line
                    )
                expanded += 1
                opened.append((event.anchor, expanded))
            elif isinstance(event, _COLLECTION_END):
                depth -= 1
                anchor, start = opened.pop()
                if anchor is not None:
                    sizes[anchor] = expanded - start + 1
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text) from None


def _syntax_error(exc: yaml.YAMLError, text: str) -> KubeYamlError:
    if isinstance(exc, yaml.reader.ReaderError):
        # libyaml reports a byte offset, the pure-Python reader a character offset.
        if _PARSER is yaml.SafeLoader:
            line = text.count("\n", 0, exc.position) + 1
        else:
            line = text.encode("utf-8").count(b"\n", 0, exc.position) + 1
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return KubeYamlError(f"invalid YAML: {exc.reason} (character 0x{character:02x})", line)
    if not isinstance(exc, yaml.MarkedYAMLError):
        return KubeYamlError(f"invalid YAML: {exc}")
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    column = "" if mark is None else f" (column {mark.column + 1})"
    context = f", {exc.context}" if exc.context and exc.problem else ""
    return KubeYamlError(
        f"invalid YAML: {problem}{column}{context}", None if mark is None else mark.line + 1
    )


# The number of nesting levels a document can have is at most two per column of indentation
# (a block sequence may sit at its mapping's column) plus its flow brackets: where that bound is
# within the limit, the event pass is not needed. Anchors always need it (for the budget).
_DEEP_LINE = re.compile(rf"^[ ?-]{{{(MAX_DEPTH - 2) // 4},}}", re.M)
_ANCHOR = re.compile(r"(?:^|[\s\[{,])&[^\s]")


def may_have_anchors(text: str) -> bool:
    """False where `text` certainly has no anchor (so no alias can expand)."""
    return "&" in text and bool(_ANCHOR.search(text))


def needs_event_check(text: str) -> bool:
    """False where `text` is certainly within the limits without reading its events."""
    brackets = text.count("[") + text.count("{")
    return brackets > MAX_DEPTH // 2 or bool(_DEEP_LINE.search(text)) or may_have_anchors(text)


def compose(text: str) -> yaml.Node | None:
    """The one document in `text` as nodes (None when empty), its plain scalars unresolved."""
    composer = _COMPOSER(text)
    try:
        node: yaml.Node | None = composer.get_single_node()
        return node
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text) from None
    finally:
        composer.dispose()


def load(text: str) -> Any:
    """The one document in `text` as Kubernetes reads it (None when empty)."""
    if needs_event_check(text):
        check_events(text)
    return value_of(compose(text))


def key_of(node: yaml.ScalarNode) -> str:
    """A mapping key as Kubernetes names it (`y` and `true` are both "true")."""
    return key_text(_Converter.scalar(node), _line(node))


def value_of(node: yaml.Node | None) -> Any:
    """A composed document (from `compose`) as Kubernetes reads it."""
    return None if node is None else _Converter().value(node)


# --- writing --------------------------------------------------------------------------------

_YAML11_RESOLVE: Callable[[type[yaml.Node], str, tuple[bool, bool]], str] = (
    yaml.resolver.Resolver().resolve
)
_YAML12_NON_STRING = re.compile(
    r"(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
    r"|\.nan|\.NaN|\.NAN)?"
)


def reads_as_itself(text: str) -> bool:
    """True where `text`, written as a plain scalar, is that string to every reader: Kubernetes,
    YAML 1.1 (PyYAML, `=`, 1:30, dates) and YAML 1.2."""
    return (
        isinstance(plain_value(text), str)
        and _YAML11_RESOLVE(yaml.ScalarNode, text, (True, False)) == STR_TAG
        and not _YAML12_NON_STRING.fullmatch(text)
    )


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Block-style YAML whose plain scalars are plain only where they read back unchanged."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is not yaml.ScalarNode:
            return str(super().resolve(kind, value, implicit))
        if not implicit[0]:
            return STR_TAG
        meaning = plain_value(value)
        if isinstance(meaning, str):
            return STR_TAG if reads_as_itself(value) else AMBIGUOUS_TAG
        return tag_of(meaning)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Multi-line text as a literal block (libyaml falls back to quotes where a block cannot
    # hold it exactly, e.g. trailing spaces): config files stay readable in `git diff`.
    return dumper.represent_scalar(STR_TAG, data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _represent_str)


def dump(value: Any) -> str:
    """Block-style YAML in the key order given, ending in one newline, that reads back (here,
    in Kubernetes, and under YAML 1.1 and 1.2) as exactly `value`."""
    return yaml.dump(
        value,
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=1 << 30,
    )
