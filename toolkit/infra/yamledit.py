"""Edits to a human's YAML file that change only the values they are asked to change.

The file is composed (not constructed) by PyYAML, on libyaml where it is installed: the node
tree knows where every key and value starts and ends, and each edit is then spliced into the
original text. Everything else (comments, key order, quoting, indentation, blank lines, flow
or block style) is left byte for byte, which a full re-dump cannot promise (it rewraps long
lines and respaces flow maps).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from toolkit.infra import kubeyaml
from toolkit.infra.errors import InputError

DOUBLE = '"'
SINGLE = "'"
PLAIN = None


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` with ``replacement``."""

    start: int
    end: int
    replacement: str


def compose(text: str, *, name: str) -> Node | None:
    """The node tree of ``text`` with positions (callers check safety with yamlfile first)."""
    try:
        node: Node | None = yaml.compose(text, Loader=kubeyaml.SAFE_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = "" if mark is None else f":{mark.line + 1}"
        raise InputError(f"{name}{line}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{name}: invalid YAML: {exc}") from None
    return node


def entries(node: Node | None) -> Iterator[tuple[ScalarNode, Node]]:
    """A mapping node's (key, value) pairs with scalar keys; nothing for anything else."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                yield key, value


def get(node: Node | None, key: str) -> tuple[ScalarNode, Node] | None:
    """The entry ``key`` of a mapping node, or None."""
    return next(((k, v) for k, v in entries(node) if k.value == key), None)


def items(node: Node | None) -> list[Node]:
    """A sequence node's items (empty for anything else)."""
    return list(node.value) if isinstance(node, SequenceNode) else []


def scalar(node: Node | None, key: str) -> str | None:
    """The text of a mapping's scalar value ``key`` as written (unquoted), or None."""
    entry = get(node, key)
    if entry is None or not isinstance(entry[1], ScalarNode):
        return None
    if str(entry[1].tag).endswith(":null"):
        return None
    return str(entry[1].value)


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


def render_scalar(value: str, style: str | None, *, flow: bool) -> str:
    """``value`` written in ``style`` when that reads back as the same string, else quoted."""
    if style is PLAIN and _plain_ok(value, flow=flow):
        return value
    if style == SINGLE and "\n" not in value:
        return SINGLE + value.replace(SINGLE, SINGLE * 2) + SINGLE
    return json.dumps(value, ensure_ascii=False)


def _plain_ok(value: str, *, flow: bool) -> bool:
    if not value or value != value.strip() or "\n" in value:
        return False
    samples = [f"k: {value}\n"] + ([f"{{k: {value}}}\n"] if flow else [])
    try:
        return all(yaml.safe_load(sample) == {"k": value} for sample in samples)
    except yaml.YAMLError:
        return False


def set_value(text: str, node: MappingNode, key: str, value: str) -> Edit:
    """Replace an existing scalar value, keeping its quoting style where the value allows."""
    entry = get(node, key)
    assert entry is not None, key
    key_node, old = entry
    assert isinstance(old, ScalarNode), key
    style = old.style if old.style in (SINGLE, DOUBLE) else PLAIN
    if old.style not in (None, SINGLE, DOUBLE, ""):
        style = DOUBLE  # a block scalar (| or >) becomes a one-line quoted string
    rendered = render_scalar(value, style, flow=bool(node.flow_style))
    if old.start_mark.index == old.end_mark.index:
        # `key:` with nothing after it: the empty value's mark may sit on the next line.
        colon = text.index(":", key_node.end_mark.index) + 1
        return Edit(colon, colon, f" {rendered}")
    return Edit(old.start_mark.index, old.end_mark.index, rendered)


def add_key(
    text: str, node: MappingNode, key: str, value: str, *, after: str, style: str | None
) -> Edit:
    """Insert ``key: value`` right after the entry ``after`` (whose value must be a scalar)."""
    anchor = get(node, after)
    assert anchor is not None, after
    anchor_key, anchor_value = anchor
    rendered = render_scalar(value, style, flow=bool(node.flow_style))
    end = anchor_value.end_mark.index
    if node.flow_style:
        return Edit(end, end, f", {key}: {rendered}")
    newline = text.find("\n", end)
    indent = " " * anchor_key.start_mark.column
    if newline < 0:
        return Edit(len(text), len(text), f"\n{indent}{key}: {rendered}")
    return Edit(newline + 1, newline + 1, f"{indent}{key}: {rendered}\n")


def remove_keys(text: str, node: MappingNode, keys: Collection[str], *, where: str) -> list[Edit]:
    """Delete the entries ``keys`` (their lines, in block style) and nothing around them.

    All at once, because neighbours interact: a key that shares its line with "- " is
    removed by moving the next kept key up, and in a flow mapping the commas between removed
    entries go with them.
    """
    pairs = list(entries(node))
    removed = [key.value in keys for key, _value in pairs]
    if all(removed):
        raise InputError(f"{where}: cannot remove every key of this entry; edit it by hand")
    if node.flow_style:
        return _remove_flow(pairs, removed)
    edits = []
    covered = 0  # entries already removed along with the one on the "- " line
    first_key = pairs[0][0]
    line_start = text.rfind("\n", 0, first_key.start_mark.index) + 1
    if removed[0] and text[line_start : first_key.start_mark.index].strip():
        kept = removed.index(False)
        edits.append(Edit(first_key.start_mark.index, pairs[kept][0].start_mark.index, ""))
        covered = kept
    for index in range(covered, len(pairs)):
        if removed[index]:
            edits.append(_remove_line(text, *pairs[index], where=where))
    return edits


def _remove_line(text: str, key: ScalarNode, value: Node, *, where: str) -> Edit:
    if not isinstance(value, ScalarNode) or value.style in ("|", ">"):
        raise InputError(f"{where}: '{key.value}' is not a one-line value; remove it by hand")
    line_start = text.rfind("\n", 0, key.start_mark.index) + 1
    newline = text.find("\n", value.end_mark.index)
    return Edit(line_start, len(text) if newline < 0 else newline + 1, "")


def _remove_flow(pairs: list[tuple[ScalarNode, Node]], removed: list[bool]) -> list[Edit]:
    edits = []
    index = 0
    while index < len(pairs):
        if not removed[index]:
            index += 1
            continue
        run_end = index
        while run_end + 1 < len(pairs) and removed[run_end + 1]:
            run_end += 1
        if run_end + 1 < len(pairs):  # up to the next kept entry, its comma included
            edits.append(
                Edit(pairs[index][0].start_mark.index, pairs[run_end + 1][0].start_mark.index, "")
            )
        else:  # at the end: from the last kept value, taking the comma before the run
            start = pairs[index - 1][1].end_mark.index
            edits.append(Edit(start, pairs[run_end][1].end_mark.index, ""))
        index = run_end + 1
    return edits


def apply(text: str, edits: Sequence[Edit]) -> str:
    """``text`` with every edit spliced in; insertions at one position keep their given order,
    and go before a replacement that starts there (which must not swallow them)."""

    def rank(pair: tuple[int, Edit]) -> tuple[int, bool, int]:
        order, edit = pair
        return edit.start, edit.end > edit.start, order

    ordered = sorted(enumerate(edits), key=rank, reverse=True)
    for _order, edit in ordered:
        text = text[: edit.start] + edit.replacement + text[edit.end :]
    return text
