"""Whether a rendered document's lines can be read one by one (outline.py reads its identity
from them): no quoted scalar or flow collection is left open at a line's end in a way the scan
cannot follow (such text may run over lines that only look like keys, since YAML does not check
the indentation inside quotes and brackets).

Two readings. The careful one walks the structure, skipping block scalars' bodies by their
indentation (about 28 ms of CPU per MB of big CRDs). The quick one looks only where a quote or
bracket follows a blank, found by one-character searches (about 8 ms per MB); it treats every
line as structure, bodies too, and where it cannot settle a document (an open bracket in a JSON
body, a deep document) the careful reading decides. Where the quick one settles a document the
careful one says the same (tests/manifests/test_structure.py checks it on real chart output),
but for a block scalar on a line of its own, which only the careful one refuses.
"""

from __future__ import annotations

import functools
import heapq
import re
from collections.abc import Iterator

from toolkit.infra import kubeyaml

_DQ = r'"(?:[^"\\\n]|\\.)*"'
_SQ = r"'(?:[^'\n]|'')*'"
_FLOW_ITEM = rf"""(?:[^\[\]{{}}"'\n#]|{_DQ}|{_SQ})"""


def _nested_flow(inner: str) -> str:
    return rf"(?:\[(?:{inner})*\]|\{{(?:{inner})*\}})"


# A flow collection closed on its line, nested up to three levels (deeper ones count as open).
_FLOW = _nested_flow(f"{_FLOW_ITEM}|{_nested_flow(f'{_FLOW_ITEM}|{_nested_flow(_FLOW_ITEM)}')}")
_CLOSED = rf"(?:{_DQ}|{_SQ}|{_FLOW})"
_PROPERTIES = r"(?:[&!][^ \t\n]*[ \t]+)*"
# Where a node can start on a line: after its indentation and dashes (or `? `), and anchors or
# tags; and after a key's colon.
_NODE_START = re.compile(rf"[ \t]*(?:[-?](?:[ \t]+|(?=\n)|\Z))*{_PROPERTIES}")
_VALUE_START = re.compile(rf"[ \t]*:(?:[ \t]+|(?=\n)|\Z){_PROPERTIES}")
_KEY_COLON = re.compile(r":(?:[ \t]|\n|\Z)")
_FLOW_OPENERS = "\"'[{"
_FLOW_CHAR = re.compile(r"""["'\[{]""")
_PLAIN_KEY = r"[^\s\"'\[\]{}#&*!|>%@`,?:-][^\n]*?"
# A mapping key as the scan reads it: plain, or quoted on its line.
KEY = rf"(?P<key>{_PLAIN_KEY}|{_DQ}|{_SQ})"
_BLOCK_HEADER = re.compile(
    rf"^(?P<lead>[ ]*(?:-[ ]+)*)(?:{KEY}[ ]*:[ ]+)?{_PROPERTIES}"
    r"[|>](?:(?P<indent>[1-9])[-+]?|[-+](?P<indent2>[1-9])?)?[ ]*(?:#[^\n]*)?$",
    re.M,
)
_HEADER_END = re.compile(r"[|>](?:[1-9][-+]?|[-+][1-9]?)?[ ]*(?:#[^\n]*)?$", re.M)
_SQ_OVER_LINES = re.compile(r"'(?:[^']|'')*'")
_DQ_OVER_LINES = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_AFTER_QUOTE = re.compile(r"[ \t]*(?:#[^\n]*)?(?:\n|\Z)")
_LEAD = re.compile(r"[ ]*(?:-[ ]+)*")
# A node on a line indented p columns (dashes included) is at most 2p + 2 levels deep (a block
# sequence may sit at its mapping's column), plus one for a value after its key and three for
# the flow collections a plain line may hold: lines below this indentation are within the limit.
_DEEP = re.compile(rf"\n[ ?-]{{{(kubeyaml.MAX_DEPTH - 6) // 2},}}")


@functools.cache
def _closed_node() -> re.Pattern[str]:
    """A quoted scalar or flow collection closed on its line; compiled on first use (the nested
    pattern takes milliseconds, which a run that reads no document need not pay)."""
    return re.compile(_CLOSED)


@functools.cache
def _block_body(indent: int) -> re.Pattern[str]:
    """A block scalar's body: blank lines, and lines indented at least `indent` spaces."""
    return re.compile(rf"(?:[ ]{{{indent}}}[^\n]*(?:\n|\Z)|[ ]*\n)*")


@functools.cache
def less_indented(indent: int, *, comments: bool = False) -> re.Pattern[str]:
    """Lines (after a line break) indented less than `indent` spaces that are not blank, nor
    comments unless `comments` (inside quotes a `#` is text)."""
    excluded = " \n" if comments else " \n#"
    return re.compile(rf"\n[ ]{{0,{indent - 1}}}[^{excluded}]")


def _open_at(text: str, line_start: int) -> int | None:
    """Where the line at `line_start` opens a quoted scalar or flow collection (at a node's
    start) that it does not close, or None. A plain key runs to its first `: `, as in YAML."""
    line_end = text.find("\n", line_start)
    line_end = len(text) if line_end < 0 else line_end
    start = _NODE_START.match(text, line_start, line_end)
    assert start is not None  # it matches the empty string
    position = start.end()
    if position >= line_end:
        return None
    if text[position] in _FLOW_OPENERS:
        closed = _closed_node().match(text, position, line_end)
        if closed is None:
            return position
        value = _VALUE_START.match(text, closed.end(), line_end)  # a quoted or flow key
    else:
        colon = _KEY_COLON.search(text, position, line_end + 1)
        value = None if colon is None else _VALUE_START.match(text, colon.start(), line_end)
    if value is None or value.end() >= line_end or text[value.end()] not in _FLOW_OPENERS:
        return None
    return None if _closed_node().match(text, value.end(), line_end) else value.end()


def _find_header(text: str, start: int) -> re.Match[str] | None:
    """The next line from `start` that opens a block scalar (`key: |`, `- >-`)."""
    for candidate in _HEADER_END.finditer(text, start):
        line_start = text.rfind("\n", 0, candidate.start()) + 1
        header = _BLOCK_HEADER.match(text, max(line_start, start))
        if header is not None and header.end() == candidate.end():
            return header
    return None


def _owner_column(header: re.Match[str]) -> int | None:
    """The column a block scalar's body must be indented beyond: its key's, or its dash's."""
    lead = header["lead"]
    if header["key"] is not None:
        return len(lead)
    return len(lead.rstrip()) - 1 if lead.strip() else None


def _quoted_end(text: str, line_start: int, opener: int) -> int | None:
    """Where the line ends that closes a quoted scalar opened at `opener` and left open at its
    line's end; None unless it is plain to read: every line it goes on over is indented beyond
    its key (or dash), and nothing but a comment follows it."""
    if text[opener] not in "'\"":
        return None  # a flow collection over several lines: not the common style
    closed = (_SQ_OVER_LINES if text[opener] == "'" else _DQ_OVER_LINES).match(text, opener)
    if closed is None:
        return None
    lead = _LEAD.match(text, line_start)
    assert lead is not None  # it matches the empty string
    owner = len(lead[0]) if opener > lead.end() else len(lead[0].rstrip()) - 1
    after = _AFTER_QUOTE.match(text, closed.end())
    first_line_end = text.find("\n", opener)
    if after is None or owner < 0:
        return None
    if less_indented(owner + 1, comments=True).search(text, first_line_end, closed.end()):
        return None
    return after.end()


def careful(text: str) -> tuple[bool, bool]:
    """The careful reading: (no quoted scalar or flow collection is open at a line's end in a
    way the scan cannot follow, some structural line is deep), block scalars' bodies skipped."""
    # Deep lines are looked for in the whole text first (bodies too): real documents have none.
    may_be_deep = bool(_DEEP.search(text))
    position, deep, length = 0, False, len(text)
    while position < length:
        header = _find_header(text, position)
        end = header.start() if header else length
        if may_be_deep:
            structural_end = header.end() if header else end
            deep = deep or bool(_DEEP.search(text, max(position - 1, 0), structural_end))
        resume = _past_open_quotes(text, position, end)
        if resume is None:
            return False, deep
        if resume > end:  # a quoted scalar ran over the would-be header: look again after it
            position = resume
            continue
        if header is None:
            break
        owner = _owner_column(header)
        if owner is None:
            return False, deep  # a block scalar on a line of its own: not the common style
        step = int(header["indent"] or header["indent2"] or 1)
        body = _block_body(owner + step).match(text, min(header.end() + 1, length))
        assert body is not None  # it matches the empty string
        position = body.end()
    return True, deep


def _past_open_quotes(text: str, start: int, end: int) -> int | None:
    """`end`, or past the last quoted scalar over several lines that starts before it; None
    where something is open at a line's end that the scan cannot follow."""
    flow = _FLOW_CHAR.search(text, start, end)
    while flow is not None:
        line_start = text.rfind("\n", 0, flow.start()) + 1
        opener = _open_at(text, line_start)
        if opener is not None:
            resume = _quoted_end(text, line_start, opener)
            if resume is None:
                return None
            if resume >= end:
                return resume
            flow = _FLOW_CHAR.search(text, resume, end)
            continue
        line_end = text.find("\n", flow.start())
        if line_end < 0 or line_end >= end:
            break
        flow = _FLOW_CHAR.search(text, line_end, end)
    return end


def _openings(text: str) -> Iterator[int]:
    """Where a quote or bracket follows a blank or starts the text, in order: where a quoted
    scalar or flow collection can start (a node starts after its indentation, `- `, a key's
    `: ` or a tag, each ending in a blank). One-character search is the fast one (memchr)."""
    found = [(at, opener) for opener in _FLOW_OPENERS if (at := text.find(opener)) >= 0]
    heapq.heapify(found)
    while found:
        at, opener = found[0]
        if at == 0 or text[at - 1] in " \t\n":
            yield at
        following = text.find(opener, at + 1)
        if following < 0:
            heapq.heappop(found)
        else:
            heapq.heapreplace(found, (following, opener))


def _quick(text: str) -> bool:
    """The quick reading: True where every line, read as structure, closes what it opens or
    opens a quoted scalar the careful reading follows too; False where it cannot say."""
    settled = 0  # the text before this offset is read
    for opener in _openings(text):
        if opener < settled:
            continue
        line_start = text.rfind("\n", 0, opener) + 1
        open_at = _open_at(text, line_start)
        if open_at is None:
            line_end = text.find("\n", opener)
            if line_end < 0:
                return True
            settled = line_end
            continue
        resume = _quoted_end(text, line_start, open_at)
        if resume is None:
            return False
        settled = resume
    return True


def quick_settles(text: str) -> bool:
    """Whether the quick reading finds `text` plain (and not deep) on its own."""
    return not _DEEP.search(text) and _quick(text)


def is_plain(text: str) -> tuple[bool, bool]:
    """(no quoted scalar or flow collection is open at a line's end in a way the scan cannot
    follow, some structural line is deep); the quick reading where it settles the document."""
    return (True, False) if quick_settles(text) else careful(text)
