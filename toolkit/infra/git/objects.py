"""Reading committed content without a checkout: blobs (many in one process), notes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from toolkit.infra.errors import GitError
from toolkit.infra.git.run import checked_ids, run_git


def read_blob(repo: Path, rev: str, path: str) -> bytes | None:
    """A file's bytes as committed in `rev`, or None when it is not there."""
    output = run_git(repo, "cat-file", "blob", "--end-of-options", f"{rev}:{path}", check=False)
    return output.stdout if output.returncode == 0 else None


def read_objects(repo: Path, names: Sequence[str]) -> list[bytes | None]:
    """The content of many blobs (by sha, or `rev:path`), in order, from one `git cat-file
    --batch`; None for a name that is missing or not a blob."""
    if not names:
        return []
    for name in names:  # one name per line: a newline would start another request
        if "\n" in name:
            raise GitError(f"refusing to ask git for {name!r}")
    asked = "".join(f"{n}\n" for n in names).encode()
    # Spooled: a fleet's metadata is megabytes, read in one call rather than pipe-full by pipe-full.
    output = run_git(repo, "cat-file", "--batch", input=asked, spool_stdout=True)
    data, at = output.stdout, 0
    found: list[bytes | None] = []
    for _name in names:
        end = data.index(b"\n", at)
        header = data[at:end].split()
        at = end + 1
        if len(header) != 3:  # "<name> missing"
            found.append(None)
            continue
        size = int(header[2])
        found.append(data[at : at + size] if header[1] == b"blob" else None)
        at += size + 1  # the content is followed by a newline
    return found


def read_blobs(repo: Path, rev: str, paths: Sequence[str]) -> dict[str, bytes | None]:
    """Several files' bytes as committed in `rev` (None where missing), in one git process."""
    return dict(zip(paths, read_objects(repo, [f"{rev}:{path}" for path in paths]), strict=True))


def note_paths(target: str) -> tuple[str, ...]:
    """Where a notes commit's tree may hold the note on `target`: every fan-out git may have
    chosen (only one of them exists)."""
    (target,) = checked_ids(target)
    return (target, f"{target[:2]}/{target[2:]}", f"{target[:2]}/{target[2:4]}/{target[4:]}")
