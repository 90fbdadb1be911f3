"""The one place that starts processes (pyhelm3 starts helm itself)."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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


def run(
    args: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> Output:
    """Run a command to completion; raise ProcessError on a non-zero exit when check.

    With a `timeout`, a process still running after that many seconds is killed with all it
    started (it runs in a session of its own, without a terminal: nothing it starts can stop to
    prompt) and ProcessTimeout is raised, whatever `check` says."""
    argv = tuple(str(a) for a in args)
    try:
        # A session of its own, so that a timeout (or Ctrl-C) also stops what it started: git's
        # remote helpers and ssh would otherwise hold the pipes open and us waiting.
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=_environ(env),
            stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=timeout is not None,
        )
    except FileNotFoundError as exc:
        output = Output(argv, 127, b"", f"{argv[0]}: not found ({exc.strerror})".encode())
        raise ProcessError(output) from exc
    with proc:
        try:
            stdout, stderr = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            stdout, stderr = proc.communicate()
            raise ProcessTimeout(Output(argv, -9, stdout, stderr), timeout or 0) from None
        except BaseException:  # Ctrl-C, or SIGTERM turned into it
            if timeout is None:
                proc.kill()
            else:
                _kill_group(proc)  # in a session of its own, the Ctrl-C did not reach it
            raise
    output = Output(argv, proc.returncode, stdout, stderr)
    if check and proc.returncode != 0:
        raise ProcessError(output)
    return output


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


async def run_async(
    args: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Output:
    """Run a command on the event loop so several can go at once; raise ProcessError on failure."""
    import asyncio  # here, not above: a run that renders nothing never loads the event loop

    argv = tuple(str(a) for a in args)
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=_environ(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await proc.communicate()
    except asyncio.CancelledError:
        proc.kill()
        await proc.wait()
        raise
    output = Output(argv, proc.returncode or 0, stdout, stderr)
    if output.returncode != 0:
        raise ProcessError(output)
    return output
