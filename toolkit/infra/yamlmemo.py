"""toolkit's own configuration, remembered by its content: a file parsed once is read back
as its data and its lines (JSON, under the cache directory), so that a run whose toolkit.yaml
did not change does not load the YAML parser (a tenth of a hydrate with nothing to do).

The key is the file's bytes and the code that reads YAML: a toolkit whose reading changed
never trusts what an older one remembered. A file that does not parse is never remembered,
and an entry that cannot be read or written is parsed again, never an error."""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from toolkit.infra import paths, yamlfile
from toolkit.infra.yamlfile import YamlDocument

_READERS = ("yamlfile.py", "yamlnodes.py", "kubeyaml.py", "kubescalars.py")


def load(path: Path, *, root: Path) -> YamlDocument:
    """`yamlfile.load(path, root=root)`, from memory when these bytes were parsed before."""
    display = yamlfile.relative_name(path, root)
    raw = yamlfile.read_bytes(path, display)
    entry = paths.cache_dir() / "parsed" / f"{_key(raw)}.json"
    try:
        remembered = json.loads(entry.read_bytes())
        return YamlDocument(path, remembered["data"], display, lines=remembered["lines"])
    except (OSError, ValueError, TypeError, KeyError):
        pass  # not remembered yet (or not readable): parse it
    doc = yamlfile.parse(raw, path=path, display=display, last_key_wins=False)
    _remember(entry, doc)
    return doc


def _key(raw: bytes) -> str:
    digest = hashlib.sha256(b"toolkit parsed yaml 1\0")
    here = Path(__file__).parent
    for reader in _READERS:
        digest.update((here / reader).read_bytes())
    digest.update(raw)
    return digest.hexdigest()


def _remember(entry: Path, doc: YamlDocument) -> None:
    from toolkit.infra import atomicfiles, yamlnodes  # only a new file is remembered

    lines = None if doc.node is None else yamlnodes.line_tree(doc.node)
    text = json.dumps({"data": doc.data, "lines": lines}, separators=(",", ":"))
    with contextlib.suppress(atomicfiles.WriteError):  # else the next run parses it again
        atomicfiles.replace_file(entry, text.encode())
