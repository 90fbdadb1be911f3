"""`toolkit diff --split DIR`: a change too big for one comment as numbered comments, each within
the byte budget. The first holds the summary and an index of the others; the others hold every
resource's diff in order, a diff too big for one comment continuing in the next, so nothing is
left out. Each comment starts with a marker line of its own, by which a CI job finds the comment
it posted before and edits it (docs/recipes/sticky-comment.sh).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from toolkit.diff import comment, wording
from toolkit.diff.comparison import DiffReport, EnvironmentDiff
from toolkit.infra import atomicfiles
from toolkit.infra.errors import InputError

PART_MARKER = "<!-- toolkit-rendered-diff part {number} -->"
FILE_NAME = "comment-{number:03}.md"
_FILE_GLOB = "comment-*.md"
# Room kept in each comment for its heading's numbers and a continued diff's heading.
_NUMBERS_ROOM = 64


@dataclass(frozen=True)
class _Piece:
    """What one comment may take: an environment's folded lines, or a resource's list line and
    (a chunk of) its diff under a heading."""

    env: int
    line: str  # in the environment's list ("" for a diff's continuation)
    body: str
    resources: int  # 1 for a resource's line and first chunk, else 0

    @property
    def size(self) -> int:
        return comment.size_of(self.line) + comment.size_of(self.body)


def _chunks(body: str, room: int) -> list[str]:
    """`body` cut at line ends into chunks of at most `room` bytes (a longer line is cut too,
    at a character boundary); each chunk ends with a line break."""
    room = max(room, 64)  # a cut always takes a character, whatever long names left of it
    chunks: list[str] = []
    current = ""
    for line in body.splitlines(keepends=True):
        while comment.size_of(line) > room:
            cut = line.encode()[: room - 1].decode(errors="ignore")
            chunks += [current] if current else []
            chunks.append(cut + "\n")
            current, line = "", line[len(cut) :]
        if current and comment.size_of(current) + comment.size_of(line) > room:
            chunks.append(current)
            current = ""
        current += line
    return [*chunks, current] if current or not chunks else chunks


def _group_open(env: EnvironmentDiff) -> str:
    return f"<details><summary>{comment.html_text(env.name)}: {wording.counts(env)}</summary>\n\n"


def _group_size(env: EnvironmentDiff) -> int:
    return comment.size_of(_group_open(env) + "\n</details>\n\n")


def _pieces(report: DiffReport, room: int) -> Iterator[_Piece]:
    for e, env in enumerate(report.environments):
        folded = "".join(comment.folded_lines(env))
        if folded:
            yield _Piece(e, folded, "", 0)
        for change in env.shown:
            line = comment.change_line(change, report) + "\n"
            heading = f"#### {comment.markdown_title(change)}"
            body = comment.diff_body(change)
            fences = 2 * len(comment.fence(body)) + len("diff\n\n\n")
            chunks = _chunks(body, room - comment.size_of(line + heading) - fences)
            for number, chunk in enumerate(chunks, 1):
                more = f" (continued, {number} of {len(chunks)})" if number > 1 else ""
                yield _Piece(
                    e,
                    line if number == 1 else "",
                    f"{heading}{more}\n\n{comment.fenced(chunk)}",
                    int(number == 1),
                )


def _header(report: DiffReport, number: int, total: int) -> str:
    return (
        f"{PART_MARKER.format(number=number)}\n## Rendered diff, part {number} of {total}\n\n"
        f"base `{report.base[:12]}` → head `{(report.head or 'work tree')[:12]}`\n\n"
    )


def _pack(report: DiffReport, max_bytes: int) -> list[list[_Piece]]:
    """The pieces in order, as many to a comment as its budget takes."""
    header = comment.size_of(_header(report, 0, 0)) + _NUMBERS_ROOM
    widest = max((_group_size(env) for env in report.environments), default=0)
    # Never below a few lines, whatever the budget: a comment may then pass it, never loop.
    room = max(max_bytes - header - widest, 256)
    parts: list[list[_Piece]] = []
    size = 0
    for piece in _pieces(report, room):
        opens = not parts or parts[-1][-1].env != piece.env
        grows = piece.size + (_group_size(report.environments[piece.env]) if opens else 0)
        if not parts or size + grows > max_bytes:
            parts.append([])
            size = header + _group_size(report.environments[piece.env]) + piece.size
        else:
            size += grows
        parts[-1].append(piece)
    return parts


def _render_part(report: DiffReport, pieces: Sequence[_Piece], number: int, total: int) -> str:
    out = [_header(report, number, total)]
    groups: list[list[_Piece]] = []
    for piece in pieces:
        if not groups or groups[-1][0].env != piece.env:
            groups.append([])
        groups[-1].append(piece)
    for group in groups:
        out.append(_group_open(report.environments[group[0].env]))
        out += [piece.line for piece in group]
        out.append("\n")
        out += [piece.body for piece in group]
        out.append("</details>\n\n")
    return "".join(out)


def _index_entry(report: DiffReport, pieces: Sequence[_Piece]) -> str:
    """`staging: 40 resources`, per environment a comment holds."""
    counts: dict[int, int] = {}
    for piece in pieces:
        counts[piece.env] = counts.get(piece.env, 0) + piece.resources
    names = []
    for e, count in counts.items():
        what = f"{count} resource{'s' * (count != 1)}" if count else "a diff continued"
        names.append(f"{comment.html_text(report.environments[e].name)} ({what})")
    return ", ".join(names)


def split(report: DiffReport, max_bytes: int) -> list[str]:
    """The comments: one when the whole diff fits, else the summary with the index, then the
    parts."""
    whole = comment.markdown(report, max_bytes=None)
    if comment.size_of(whole) <= max_bytes:
        return [whole]
    parts = _pack(report, max_bytes)
    total = len(parts) + 1
    rendered = [_render_part(report, part, n, total) for n, part in enumerate(parts, 2)]
    first = "".join(comment.summary(report))
    first += f"**This diff is in {total} comments**, each within {max_bytes} bytes:\n\n"
    first += "1. this summary\n"
    index = [f"{n}. {_index_entry(report, part)}\n" for n, part in enumerate(parts, 2)]
    while index and comment.size_of(first + "".join(index) + "\n") > max_bytes:
        index = index[: len(index) // 2]  # a summary this large leaves room for less index
    first += "".join(index) + "\n"
    return [first, *rendered]


def write_comments(directory: Path, report: DiffReport, max_bytes: int) -> list[Path]:
    """Write the comments as DIR/comment-001.md…, all or none, and remove those a previous run
    left beyond the new last one; the paths written, in order."""
    comments = split(report, max_bytes)
    paths = [directory / FILE_NAME.format(number=n) for n in range(1, len(comments) + 1)]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--split {directory}: cannot make it ({exc.strerror})") from exc
    atomicfiles.recover(directory)  # a run killed while writing here is put back first
    with atomicfiles.all_or_nothing(directory) as changes:
        for path, text in zip(paths, comments, strict=True):
            changes.write(path, text.encode())
        for stale in sorted(set(directory.glob(_FILE_GLOB)) - set(paths)):
            changes.delete(stale)
    return paths
