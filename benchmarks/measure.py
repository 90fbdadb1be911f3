"""Run toolkit's CLI in this process and record its peak memory with its children's.

`python -m benchmarks.measure OUT.json ARGS...` runs `toolkit ARGS...` and writes
{"exit": code, "self_kb": peak RSS of this process, "children_kb": peak RSS of the largest
child (helm, kustomize, git)} to OUT.json. Their sum bounds what the run needed at once.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path


def main() -> None:
    out, *args = sys.argv[1:]
    from toolkit import cli

    try:
        cli.main(args, prog_name="toolkit")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    usage = {
        "exit": code,
        "self_kb": own.ru_maxrss,
        "children_kb": children.ru_maxrss,
        "cpu_s": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
    }
    Path(out).write_text(json.dumps(usage))


if __name__ == "__main__":
    main()
