"""Golden files: public text output compared byte for byte with a file kept beside this module.

`TOOLKIT_UPDATE_GOLDEN=1 pytest ...` rewrites the files from what the run printed; review the
git diff of tests/golden/ before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent


def assert_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("TOOLKIT_UPDATE_GOLDEN") == "1":
        path.write_text(actual, encoding="utf-8")
        return
    assert path.is_file(), f"no golden file {name}: run with TOOLKIT_UPDATE_GOLDEN=1 once"
    assert actual == path.read_text(encoding="utf-8")
