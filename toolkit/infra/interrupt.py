"""Ctrl-C and SIGTERM (a cancelled CI job): both unwind the run once, as `Interrupted`.

The entry point installs the handlers before anything else is imported. The first signal ends
every child process at once (process.py registers that), so that nothing waits on a child, and
raises `Interrupted` in the main thread. The signals after it are ignored, so that the
cleanups it sets off (removing temporary worktrees) are not cut short by an impatient second
Ctrl-C. `Interrupted` is not a KeyboardInterrupt, so that click's own handling of one (a blank
line, "Aborted!", exit 1) never sees it: the entry point prints the one line and exits 130.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import ClassVar

EXIT_CODE = 130  # what a shell reports for a command ended by SIGINT
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """The run was told to stop (SIGINT or SIGTERM)."""


class _State:
    stoppers: ClassVar[list[Callable[[], None]]] = []  # run before Interrupted is raised
    received: ClassVar[bool] = False  # a signal came: the run is unwinding
    holding: ClassVar[int] = 0  # depth of held() blocks in the main thread
    pending: ClassVar[bool] = False  # a signal came inside held(): raise when the block ends
    deferred: ClassVar[bool] = False  # a signal came inside a finalizer: raise at a held() end


def _handler(signum: int, frame: FrameType | None) -> None:
    if _State.received:
        return
    _State.received = True
    for stopper in _State.stoppers:
        stopper()
    if _State.holding:
        _State.pending = True
        return
    if _in_finalizer(frame):
        # An object's finalizer (a `Popen.__del__`, run wherever a process object is freed):
        # Python would print Interrupted and drop it. It is raised at the end of the next held()
        # block (every process start is one) that no exception is unwinding through; one that
        # is (what waited on an ended child failed) becomes Interrupted in the CLI's guard.
        _State.deferred = True
        return
    raise Interrupted


def _in_finalizer(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def on_interrupt(stopper: Callable[[], None]) -> None:
    """Have `stopper` called the moment the signal comes (in the main thread, also inside a
    held() block), before anything unwinds: what it ends, no one waits for."""
    _State.stoppers.append(stopper)


def install() -> None:
    """Handle SIGINT and SIGTERM from now on (in the main thread; a signal ignored when the
    process started, as `nohup` or a background job leaves it, stays ignored)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _handler)


def received() -> bool:
    """Whether a signal came (the run is unwinding, or over)."""
    return _State.received


def settle() -> None:
    """The run is over: a signal from now on is ignored (it would only cut the exit short).
    Ignored by the system, not only by the handler: Python puts the default action back for
    its handlers while it shuts down, and a signal then would kill the finished run."""
    _State.received = True
    if threading.current_thread() is threading.main_thread():
        for signum in SIGNALS:
            if signal.getsignal(signum) is _handler:
                signal.signal(signum, signal.SIG_IGN)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """A block a signal cannot cut in two (starting a process and recording it, a cleanup):
    the children still end at once (a cleanup's own git call too: a cleanup goes on when one
    fails), but Interrupted is raised when the block ends, not inside it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _State.holding += 1
    try:
        yield
    finally:
        _State.holding -= 1
        if not _State.holding and (
            _State.pending or (_State.deferred and sys.exc_info()[0] is None)
        ):
            _State.pending = _State.deferred = False
            raise Interrupted
