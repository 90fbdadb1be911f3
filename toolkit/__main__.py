"""The `toolkit` command. Ctrl-C and SIGTERM are handled from its first line on, the imports
included: every child process ends, the cleanups run, and one line says so (exit 130)."""

from __future__ import annotations

import gc
import sys

from toolkit.infra import interrupt  # small, so that the handlers are in place early

# Objects made before the collector looks for garbage cycles (Python's default: 700). The
# start makes some 30,000 that live to the end: at 700, a hydrate with nothing to do on twelve
# environments collected 38 times, a tenth of its time. A long run still collects, every 50,000.
COLLECT_EVERY = 50_000


def main() -> None:
    gc.set_threshold(COLLECT_EVERY, *gc.get_threshold()[1:])
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
