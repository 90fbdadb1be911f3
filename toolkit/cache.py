"""The render cache: what helm and kustomize printed, stored under a hash of everything they read.

Entries are content-addressed by their key (`renders/<ab>/<key>`), so two processes that render the
same inputs write the same bytes to the same name; each entry is written to a temporary file in
its directory and renamed into place, so a reader sees a whole entry or none. Nothing is ever
updated in place, which is why no lock is needed. Only successful renders are stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

_KEY_CHARS = frozenset("0123456789abcdef")


def key_of(*parts: bytes) -> str:
    """A cache key: sha256 over the parts, each length-prefixed so no two splits collide."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(b"%d:" % len(part))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class RenderCache:
    """A directory of cached render outputs (usually `tools.cache_dir() / "renders"`)."""

    directory: Path

    def _path(self, key: str) -> Path:
        # A key is always our own hex digest; anything else would be a bug, not user input.
        if len(key) != 64 or not _KEY_CHARS.issuperset(key):
            raise ValueError(f"not a render cache key: {key!r}")
        return self.directory / key[:2] / key

    def get(self, key: str) -> bytes | None:
        """The stored output for `key`, or None on a miss (or an unreadable cache)."""
        try:
            return self._path(key).read_bytes()
        except OSError:
            return None

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key` atomically; a cache that cannot be written is not an error,
        since the render it would have saved has already succeeded."""
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(data)
            os.replace(temporary, target)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
