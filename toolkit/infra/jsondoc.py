"""The one JSON document every `--json` prints: `{"schemaVersion", "command", "result"}`, or
`{"schemaVersion", "command", "error"}` when the command failed, so a script reads every command
the same way and can tell which contract it holds (the schemas are in the repository's
schemas/<command>.schema.json)."""

from __future__ import annotations

import json
from typing import Any

SCHEMA_VERSION = 1  # raised when a field is renamed or removed (added fields keep it)


def document(command: str, result: Any, *, key: str = "result") -> str:
    """`result` under the envelope (as its `key`: `result`, or `error` for a failure), as
    printed: two-space indents, a final newline."""
    envelope = {"schemaVersion": SCHEMA_VERSION, "command": command, key: result}
    return json.dumps(envelope, indent=2) + "\n"
