"""The verified content cache of downloaded charts."""

from __future__ import annotations

import hashlib
from pathlib import Path

from toolkit.charts.contentcache import ChartCache


def test_the_cache_is_content_addressed_and_rechecked(tmp_path: Path) -> None:
    cache = ChartCache(tmp_path / "cache")
    digest, path = cache.put(b"chart bytes")
    assert digest == "sha256:" + hashlib.sha256(b"chart bytes").hexdigest()
    assert path.read_bytes() == b"chart bytes" and cache.get(digest) == path
    assert cache.put(b"chart bytes") == (digest, path)
    path.write_bytes(b"damaged")
    assert cache.get(digest) is None  # fetched again rather than trusted
    assert cache.put(b"chart bytes") == (digest, path) and path.read_bytes() == b"chart bytes"
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [path.name]
