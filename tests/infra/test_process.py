"""infra/process.py: large inputs and outputs reach and leave a command whole, through files."""

from __future__ import annotations

import hashlib
import sys

from toolkit.infra import process

# The command says what its standard input and output are, and hashes what it reads.
_REPORT = """
import hashlib, os, stat, sys
kinds = ["file" if stat.S_ISREG(os.fstat(fd).st_mode) else "pipe" for fd in (0, 1)]
data = sys.stdin.buffer.read()
sys.stdout.write(" ".join(kinds) + " " + hashlib.sha256(data).hexdigest() + "\\n")
sys.stdout.write("y" * int(sys.argv[1]))
"""


def test_a_large_input_reaches_the_command_as_a_file() -> None:
    data = bytes(range(256)) * 4096  # 1 MiB: a fast-import stream, not a pipe's worth
    output = process.run((sys.executable, "-c", _REPORT, "0"), input=data)
    assert output.stdout.decode().split() == ["file", "pipe", hashlib.sha256(data).hexdigest()]


def test_a_small_input_goes_through_a_pipe() -> None:
    output = process.run((sys.executable, "-c", _REPORT, "0"), input=b"{}")
    assert output.stdout.decode().split()[:2] == ["pipe", "pipe"]


def test_a_spooled_output_is_a_file_read_whole() -> None:
    """A render's megabytes go to a file: helm never waits for this process to read a pipe."""
    size = 5 * 1024 * 1024
    output = process.run((sys.executable, "-c", _REPORT, str(size)), spool_stdout=True)
    head, _, rest = output.stdout.partition(b"\n")
    assert head.split()[:2] == [b"pipe", b"file"]
    assert rest == b"y" * size


def test_a_spooled_output_is_kept_when_the_command_fails() -> None:
    output = process.run(
        (sys.executable, "-c", "print('partial'); raise SystemExit(3)"),
        spool_stdout=True,
        check=False,
    )
    assert (output.returncode, output.stdout) == (3, b"partial\n")
