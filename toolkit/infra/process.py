"""The one place that starts processes, each in a process group of its own that an
interruption ends."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

from toolkit.infra import interrupt
from toolkit.infra.errors import InputError


def indent(text: str) -> str:
    """A tool's output set in by four spaces, as error messages quote it."""
    return "\n".join(f"    {line}" for line in text.splitlines())


@dataclass(frozen=True)
class Output:
    """What a finished process left behind."""

    args: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    def describe(self) -> str:
        """The command, its return code and its indented output, for an error message."""
        lines = [f"command: {shlex.join(self.args)}", f"return code: {self.returncode}"]
        for label, data in (("stdout", self.stdout), ("stderr", self.stderr)):
            text = data.decode(errors="replace").rstrip()
            if text:
                lines += [f"{label}:", indent(text)]
        return "\n".join(lines)


class ProcessError(Exception):
    """A process exited non-zero; callers turn it into a ToolkitError of their own."""

    def __init__(self, output: Output) -> None:
        super().__init__(output.describe())
        self.output = output


class ProcessTimeout(ProcessError):
    """A process ran past its timeout and was killed, with every process it started."""

    def __init__(self, output: Output, seconds: float) -> None:
        super().__init__(output)
        self.seconds = seconds


def seconds_setting(name: str, default: float) -> float:
    """A timeout in seconds from environment variable `name` (`default` when unset)."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{name}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise InputError(f"{name}={raw!r} must be more than 0 seconds")
    return value


def _environ(env: Mapping[str, str] | None) -> dict[str, str] | None:
    return None if env is None else {**os.environ, **env}


class _Children:
    """The process groups this run started and has not yet seen end, so that an interruption
    can end them all, and whatever they started, wherever the run is waiting."""

    # Reentrant: the signal handler stops them from the main thread, which may hold it.
    lock: ClassVar[threading.RLock] = threading.RLock()
    live: ClassVar[dict[int, subprocess.Popen[bytes]]] = {}
    stopping: ClassVar[bool] = False  # after stop_children(): worker threads start nothing more


def _start(argv: tuple[str, ...], **options: Any) -> subprocess.Popen[bytes]:
    """Popen in a session (so a process group) of its own, recorded as live. A signal cannot
    fall between the start and the record: the child could never be ended then."""
    proc: subprocess.Popen[bytes] | None = None
    try:
        with interrupt.held(), _Children.lock:
            if _Children.stopping and threading.current_thread() is not threading.main_thread():
                output = Output(argv, -signal.SIGKILL, b"", b"not started: interrupted")
                raise ProcessError(output)
            proc = subprocess.Popen(argv, start_new_session=True, **options)
            _Children.live[proc.pid] = proc
    except interrupt.Interrupted:  # the signal came while it started: it ends with the rest
        if proc is not None:
            _kill_group(proc)
            proc.communicate()  # closes the pipes, and reaps it
            _ended(proc)
        raise
    return proc


def _ended(proc: subprocess.Popen[bytes]) -> None:
    with _Children.lock:
        _Children.live.pop(proc.pid, None)


def stop_children() -> None:
    """End every process group still running (SIGKILL: a render or a git call cut short has
    nothing to save), and start no more from worker threads until resume_children()."""
    with _Children.lock:
        _Children.stopping = True
        for proc in _Children.live.values():
            _kill_group(proc)


def resume_children() -> None:
    """Worker threads may start processes again (the batch that was stopped is over), unless
    the run was interrupted."""
    with _Children.lock:
        _Children.stopping = interrupt.received()


interrupt.on_interrupt(stop_children)


_PIPE_CAPACITY = 64 * 1024  # what a pipe holds on Linux: a larger input goes through a file


def run(
    args: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    input: bytes | IO[bytes] | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
    spool_stdout: bool = False,
) -> Output:
    """Run a command to completion; raise ProcessError on a non-zero exit when check.

    An `input` larger than a pipe holds reaches the command as an unnamed temporary file; an
    `input` that is a file already (written by the caller, and read from where it stands: a
    stream of megabytes never held whole) is given to the command as it is. With
    `spool_stdout` its standard output goes to one, read whole once it exits: a command that
    prints megabytes (a render) then never waits on a full pipe for this process to read it,
    which a busy interpreter (other threads holding the GIL) is slow to do, and the output is
    read in one call rather than in thousands of small ones.

    The command runs in a session of its own, without a terminal (nothing it starts can stop to
    prompt), so that its whole process group can be ended: on a timeout (ProcessTimeout is
    raised then, whatever `check` says), on Ctrl-C or SIGTERM, or from stop_children(). git's
    remote helpers and ssh would otherwise hold the pipes open, and us waiting."""
    argv = tuple(str(a) for a in args)
    with contextlib.ExitStack() as stack:
        spool = stack.enter_context(tempfile.TemporaryFile()) if spool_stdout else None
        stdin: int | IO[bytes] = subprocess.DEVNULL if input is None else subprocess.PIPE
        if input is not None and not isinstance(input, bytes):
            stdin, input = input, None
        elif input is not None and len(input) > _PIPE_CAPACITY:
            # Written in one call to a file the command reads, rather than through the pipe in
            # thousands of small writes, each waiting for the command to take the last.
            stdin = stack.enter_context(tempfile.TemporaryFile())
            stdin.write(input)
            stdin.seek(0)
            input = None
        try:
            proc = _start(
                argv,
                cwd=cwd,
                env=_environ(env),
                stdin=stdin,
                stdout=subprocess.PIPE if spool is None else spool,
                stderr=subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            output = Output(argv, 127, b"", f"{argv[0]}: not found ({exc.strerror})".encode())
            raise ProcessError(output) from exc
        try:
            with proc:
                try:
                    stdout, stderr = proc.communicate(input, timeout=timeout)
                except subprocess.TimeoutExpired:
                    _kill_group(proc)
                    stdout, stderr = proc.communicate()
                    stdout = _spooled(spool, stdout)
                    raise ProcessTimeout(Output(argv, -9, stdout, stderr), timeout or 0) from None
                except BaseException:  # interrupted: the group ends with us (the pipes close)
                    _kill_group(proc)
                    raise
        finally:
            _ended(proc)
        output = Output(argv, proc.returncode, _spooled(spool, stdout), stderr)
    if check and proc.returncode != 0:
        raise ProcessError(output)
    return output


def _spooled(spool: IO[bytes] | None, stdout: bytes | None) -> bytes:
    """What the command printed: from its pipe, or read whole from its spool file."""
    if spool is None:
        return stdout or b""
    spool.seek(0)
    return spool.read()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
