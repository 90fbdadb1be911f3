"""`set:` keys as helm reads `--set` paths: `image.tag`, `hosts[0].name`, `a\\.b` for a key
with a dot in it. Each value is put where its path leads, as `helm --set` (or `--set-string`,
`--set-json`) puts it onto the merged values files, but typed as YAML gave it.

Navigation follows helm's strvals parser exactly, including where it refuses: a name step into
something that is not a mapping (or is null) and an index step into something that is not a
list are errors in helm too; a name step on a list item replaces what is not a mapping; an index
past the end pads the list with nulls. A mapping value merges into the mapping already at its
path (as `--set-json '{…}'` or a values file would); any other value replaces what is there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from toolkit.infra.yamlfile import describe

Step = str | int
Steps = tuple[Step, ...]

# helm's own limits (strvals.MaxIndex, strvals.MaxNestedNameLevel).
MAX_INDEX = 65536
MAX_NESTED_NAMES = 30
_INDEX = re.compile(r"\[([0-9]+)\]")


class SetPathError(ValueError):
    """A path helm would not read, or one it would refuse to apply; the message says why."""


def parse(key: str) -> Steps:
    """The steps of a `--set` path: names (a backslash takes the next character literally)
    and list indexes."""
    if not key:
        raise SetPathError("it is empty")
    steps: list[Step] = []
    name: list[str] = []
    after_index = False  # right after `[n]`, where a name may not start without a '.'
    dots = 0  # helm counts the '.' after each name against its nesting limit
    at = 0
    while at < len(key):
        char = key[at]
        if char in ".[":
            if name:
                steps.append("".join(name))
            elif not after_index:
                raise SetPathError(
                    "it has an empty name (a leading or doubled '.', or '[' with no name "
                    "before it); escape a literal dot as '\\.'"
                )
            dots += char == "." and not after_index
            name, after_index = [], False
            if char == ".":
                at += 1
                continue
            match = _INDEX.match(key, at)
            if match is None:
                raise SetPathError("'[' must open a list index such as [0]")
            index = int(match[1])
            if index > MAX_INDEX:
                raise SetPathError(f"index {index} is over helm's limit of {MAX_INDEX}")
            steps.append(index)
            after_index, at = True, match.end()
        elif after_index:
            raise SetPathError(f"'{char}' after an index: write a '.' before a name")
        elif char in "=,":
            raise SetPathError(f"'{char}' ends a key in helm --set: escape it as '\\{char}'")
        elif char == "\\":
            if at + 1 == len(key):
                raise SetPathError("it ends in a lone '\\' (write '\\\\' for a backslash)")
            name.append(key[at + 1])
            at += 2
        else:
            name.append(char)
            at += 1
    if name:
        steps.append("".join(name))
    elif not after_index:
        raise SetPathError("it ends in '.'; escape a literal dot as '\\.'")
    if dots > MAX_NESTED_NAMES:
        raise SetPathError(f"it nests names deeper than helm's limit of {MAX_NESTED_NAMES}")
    return tuple(steps)


Merge = Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]


def apply(values: dict[str, Any], path: Steps, value: Any, *, merge: Merge) -> dict[str, Any]:
    """`values` with `value` put at `path` (a mapping merged onto a mapping there by `merge`);
    `values` itself and everything in it are left as they are (the containers along the path
    are copied)."""
    put: dict[str, Any] = _put(values, path, 0, value, merge)
    return put


def _put(node: Any, path: Steps, at: int, value: Any, merge: Merge) -> Any:
    step = path[at]
    last = at == len(path) - 1
    if isinstance(step, str):
        assert isinstance(node, dict)
        copied = dict(node)
        if last:
            current = copied.get(step)
            if isinstance(value, Mapping) and isinstance(current, Mapping):
                copied[step] = merge(current, value)
            else:
                copied[step] = value
            return copied
        copied[step] = _put(_container(copied, step, path, at), path, at + 1, value, merge)
        return copied
    assert isinstance(node, list)
    items = list(node) + [None] * (step + 1 - len(node))
    if last:
        items[step] = value
        return items
    items[step] = _put(_item_container(items[step], path, at), path, at + 1, value, merge)
    return items


def _container(mapping: dict[str, Any], name: str, path: Steps, at: int) -> Any:
    """What a name step descends into: helm refuses anything there but the right container."""
    wanted = dict if isinstance(path[at + 1], str) else list
    if name not in mapping:
        return wanted()
    current = mapping[name]
    if not isinstance(current, wanted):
        kind = "a mapping" if wanted is dict else "a list"
        raise SetPathError(
            f"{format_path(path[: at + 1])} is {describe(current)} in the values, not {kind}, "
            "so helm --set refuses this path too; set the whole value instead"
        )
    return current


def _item_container(item: Any, path: Steps, at: int) -> Any:
    """What an index step descends into: a name step makes a mapping of whatever is not one
    (as helm does); an index step needs a list or nothing there."""
    if isinstance(path[at + 1], str):
        return item if isinstance(item, dict) else {}
    if item is None:
        return []
    if not isinstance(item, list):
        raise SetPathError(
            f"{format_path(path[: at + 1])} is {describe(item)} in the values, not a list, "
            "so helm --set refuses this path too; set the whole value instead"
        )
    return item


def format_path(path: Steps) -> str:
    """Steps as a `--set` path again (dots in names escaped)."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            escaped = re.sub(r"([\\.\[=,])", r"\\\1", step)
            text += f".{escaped}" if text else escaped
    return text
