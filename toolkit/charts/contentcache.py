"""The verified content cache of downloaded charts: blobs (chart archives, OCI manifests)
stored by their sha256, so what is read back is what was locked."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from toolkit.infra import atomicfiles, paths


def sha256_digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@dataclass(frozen=True)
class ChartCache:
    """Blobs stored by their sha256.

    Each blob is replaced whole (atomicfiles), so two processes filling the cache at once both
    end up with one whole file; a reader re-checks the hash, so a damaged file is fetched
    again rather than trusted.
    """

    root: Path

    @classmethod
    def default(cls) -> ChartCache:
        return cls(paths.cache_dir() / "charts" / "sha256")

    def path(self, digest: str) -> Path:
        return self.root / f"{digest.removeprefix('sha256:')}.blob"

    def get(self, digest: str) -> Path | None:
        path = self.path(digest)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        return path if sha256_digest(data) == digest else None

    def put(self, data: bytes) -> tuple[str, Path]:
        digest = sha256_digest(data)
        path = self.path(digest)
        if self.get(digest) is not None:
            return digest, path
        atomicfiles.replace_file(path, data)
        return digest, path
