"""The `toolkit` command. Ctrl-C and SIGTERM are handled from its first line on, the imports
included: every child process ends, the cleanups run, and one line says so (exit 130)."""

from __future__ import annotations

import sys

from toolkit.infra import interrupt  # small, so that the handlers are in place early


def main() -> None:
    interrupt.install()
    try:
        try:
            from toolkit.cli import main as command_line

            command_line()
        finally:
            interrupt.settle()
    except interrupt.Interrupted:
        from toolkit.infra import process

        process.stop_children()
        sys.stderr.write("interrupted\n")
        sys.exit(interrupt.EXIT_CODE)


if __name__ == "__main__":
    main()
