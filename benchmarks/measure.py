"""Run toolkit as CI runs it (its installed console script, a process of its own) and record its
wall time, its CPU and the memory it needed at once, its children's included.

The memory is sampled from /proc every few milliseconds rather than read from
getrusage(RUSAGE_CHILDREN): a child's ru_maxrss counts the pages of its parent it shares
between its fork and its exec, so there every child of a large process looks as large as it.
For the same reason a child still running toolkit's interpreter (forked, not yet past its exec:
toolkit runs no Python child) is left out of a sample.

The sampler runs here, in the benchmark's process, not in toolkit's (a thread in toolkit's
interpreter takes turns at its GIL: a hydrate with nothing to do was about 30 ms slower with
it), and only in runs that are not timed: reading /proc every 5 ms takes about a fifth of a
CPU, which a cold hydrate on 2 CPUs would lose.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
_EVERY_S = 0.005
TOOLKIT = Path(sys.executable).with_name("toolkit")  # the console script pip installs


@dataclass(frozen=True)
class Usage:
    """One run of toolkit: how it exited, what it printed, and what it took."""

    exit: int
    output: str
    seconds: float
    cpu_s: float  # toolkit's and its children's
    tree_kb: int | None  # the most toolkit and every process below it held at once (sampled)


def _resident_kb(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0  # it ended meanwhile


def _runs(pid: int, exe: str) -> bool:
    """Whether process `pid` runs the executable `exe` (or ended meanwhile)."""
    try:
        return os.path.realpath(f"/proc/{pid}/exe") == exe
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


def _tree_kb(root: int, interpreter: str) -> int:
    """The resident memory of `root` and every process below it, now; a child still running
    `interpreter` (toolkit's, forked and not yet exec'd) is toolkit's own pages."""
    total, todo = _resident_kb(root), _children(root)
    while todo:
        pid = todo.pop()
        if not _runs(pid, interpreter):
            total += _resident_kb(pid)
            todo += _children(pid)
    return total


class _Sampler(threading.Thread):
    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        interpreter = os.path.realpath(sys.executable)
        while not self.done.wait(_EVERY_S):
            self.peak_kb = max(self.peak_kb, _tree_kb(self.root, interpreter))


def children_cpu() -> float:
    """The CPU time of every child of this process that ended, theirs included."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_toolkit(args: Sequence[str], env: Mapping[str, str], *, sampled: bool = False) -> Usage:
    """`toolkit ARGS` in a process of its own; `sampled`, its memory read from here until it
    ends (its time is then not worth quoting)."""
    cpu_before = children_cpu()
    start = time.perf_counter()
    child = subprocess.Popen(
        (str(TOOLKIT), *args),
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    sampler = _Sampler(child.pid) if sampled else None
    if sampler:
        sampler.start()
    output, _ = child.communicate()
    seconds = time.perf_counter() - start
    if sampler:
        sampler.done.set()
        sampler.join()
    return Usage(
        exit=child.returncode,
        output=output.decode(errors="replace"),
        seconds=seconds,
        cpu_s=children_cpu() - cpu_before,
        tree_kb=sampler.peak_kb if sampler else None,
    )
