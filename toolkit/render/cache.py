"""The render cache: what helm and kustomize printed, stored under a hash of everything they read.

Entries are content-addressed by their key (`renders/<ab>/<key>`), so two processes that render the
same inputs write the same bytes to the same name; each entry is written to a temporary file in
its directory and renamed into place, so a reader sees a whole entry or none. Nothing is ever
updated in place, which is why no lock is needed. Only successful renders are stored.

An entry carries its own length and sha256, so one that a full disk, a crash of some other
program or a hand edit left truncated or garbled is never half-read: it is deleted and the
render runs again.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.infra import atomicfiles

_KEY_CHARS = frozenset("0123456789abcdef")
_MAGIC = b"toolkit render cache 1\n"  # then "<length> <sha256 of the body>\n" and the body


def key_of(*parts: bytes) -> str:
    """A cache key: sha256 over the parts, each length-prefixed so no two splits collide."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(b"%d:" % len(part))
        digest.update(part)
    return digest.hexdigest()


def _header(body: bytes) -> bytes:
    return b"%s%d %s\n" % (_MAGIC, len(body), hashlib.sha256(body).hexdigest().encode())


def _body(entry: bytes) -> str | None:
    """The text an entry holds, or None when it is not whole (or not an entry at all)."""
    header, newline, body = entry.removeprefix(_MAGIC).partition(b"\n")
    length, _, digest = header.partition(b" ")
    if not entry.startswith(_MAGIC) or not newline or not length.isdigit():
        return None
    if int(length) != len(body) or hashlib.sha256(body).hexdigest().encode() != digest:
        return None
    try:
        return body.decode()
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True)
class RenderCache:
    """A directory of cached render outputs (usually `paths.cache_dir() / "renders"`); `notify`
    hears of each damaged entry it discards."""

    directory: Path
    notify: Callable[[str], None] = field(default=lambda message: None, compare=False)

    def _path(self, key: str) -> Path:
        # A key is always our own hex digest; anything else would be a bug, not user input.
        if len(key) != 64 or not _KEY_CHARS.issuperset(key):
            raise ValueError(f"not a render cache key: {key!r}")
        return self.directory / key[:2] / key

    def get(self, key: str) -> str | None:
        """The stored output for `key`, or None on a miss (or an unreadable or damaged entry,
        which is deleted so that the render that follows stores a whole one)."""
        path = self._path(key)
        try:
            entry = path.read_bytes()
        except OSError:
            return None
        text = _body(entry)
        if text is None:
            with contextlib.suppress(OSError):
                path.unlink()
            self.notify(
                f"render cache entry {key[:12]} was damaged (truncated or not written by "
                "toolkit): discarded, rendering again"
            )
        return text

    def put(self, key: str, text: str) -> None:
        """Store `text` under `key` atomically; a cache that cannot be written is not an error,
        since the render it would have saved has already succeeded."""
        body, path = text.encode(), self._path(key)
        # The header and the body are written apart: the body is not copied again behind it.
        with contextlib.suppress(atomicfiles.WriteError), atomicfiles.replacing(path) as out:
            out.write(_header(body))
            out.write(body)
