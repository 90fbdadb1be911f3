"""A Helm repository's `index.yaml`: the versions of each chart and where to download them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from toolkit.infra import http, yamlfile
from toolkit.infra.errors import InputError


@dataclass(frozen=True)
class IndexEntry:
    version: str
    urls: tuple[str, ...]


@dataclass(frozen=True)
class Index:
    url: str  # where index.yaml was fetched from, for resolving relative chart URLs
    entries: dict[str, tuple[IndexEntry, ...]] = field(hash=False)


def parse_index(data: bytes, *, url: str, what: str) -> Index:
    """An index.yaml's chart entries; a malformed index is one clear error."""
    problem = f"{what}: {url} is not a valid Helm repository index"
    try:
        # The same hostile-input checks as any YAML (aliases, nesting), without the 10 MiB
        # limit for human-written files: big public indexes exceed it.
        raw = yamlfile.load_text(
            data, name="index.yaml", max_bytes=http.MAX_BYTES, last_key_wins=True
        ).data
    except InputError as exc:
        raise InputError(f"{problem}: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("entries"), dict):
        raise InputError(
            f"{problem}: it has no `entries` mapping; check that the repository URL points at "
            "a Helm repository (the directory holding index.yaml)"
        )
    entries: dict[str, tuple[IndexEntry, ...]] = {}
    for name, versions in raw["entries"].items():
        if not isinstance(name, str) or not isinstance(versions, list):
            raise InputError(f"{problem}: entries.{name} must be a list of chart versions")
        entries[name] = tuple(e for item in versions if (e := _index_entry(item)) is not None)
    return Index(url=url, entries=entries)


def _index_entry(item: Any) -> IndexEntry | None:
    """One chart version of an index; entries helm would skip (no version) are skipped."""
    if not isinstance(item, dict):
        return None
    version, urls = item.get("version"), item.get("urls")
    if not isinstance(version, str) or not isinstance(urls, list):
        return None
    return IndexEntry(version, tuple(u for u in urls if isinstance(u, str)))
