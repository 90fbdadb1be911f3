"""Run toolkit's CLI in this process and record the memory it needed at once, its children's
included.

`python -m benchmarks.measure OUT.json ARGS...` runs `toolkit ARGS...` and writes
{"exit": code, "self_kb": peak RSS of this process, "tree_kb": the largest resident memory of
this process and every process below it at once, "cpu_s": its and its children's CPU} to
OUT.json.

The processes are sampled from /proc every few milliseconds rather than read from
getrusage(RUSAGE_CHILDREN): a child's ru_maxrss counts the pages of this process it shares
between its fork and its exec, so there every child of a large process looks as large as it.
For the same reason a child still running this interpreter (forked, not yet past its exec: toolkit
runs no Python child) is left out of a sample.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
from pathlib import Path

_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
_EVERY_S = 0.005
_OWN_EXE = os.path.realpath("/proc/self/exe")


def _resident_kb(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0  # it ended meanwhile


def _forked_only(pid: int) -> bool:
    """Whether child `pid` still runs this interpreter: its pages are this process's."""
    try:
        return os.path.realpath(f"/proc/{pid}/exe") == _OWN_EXE
    except OSError:
        return True


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            found += map(int, Path(f"/proc/{pid}/task/{task}/children").read_text().split())
        except OSError:
            continue
    return found


def _tree_kb(root: int) -> int:
    """The resident memory of `root` and every process below it, now."""
    total, todo = _resident_kb(root), _children(root)
    while todo:
        pid = todo.pop()
        if not _forked_only(pid):
            total += _resident_kb(pid)
            todo += _children(pid)
    return total


class _Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self.done.wait(_EVERY_S):
            self.peak_kb = max(self.peak_kb, _tree_kb(me))


def main() -> None:
    out, *args = sys.argv[1:]
    sampler = _Sampler()
    sampler.start()
    from toolkit import cli

    try:
        cli.main(args, prog_name="toolkit")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    sampler.done.set()
    sampler.join()
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    usage = {
        "exit": code,
        "self_kb": own.ru_maxrss,
        "tree_kb": max(sampler.peak_kb, own.ru_maxrss),
        "cpu_s": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
    }
    Path(out).write_text(json.dumps(usage))


if __name__ == "__main__":
    main()
