"""The one channel for warnings and notes."""

from __future__ import annotations

from toolkit.infra.reporter import Reporter


def test_lines_by_verbosity_and_each_warning_once() -> None:
    lines: list[str] = []
    quiet = Reporter(lines.append, verbosity=-1)
    quiet.line("a summary")
    quiet.warning("hidden by -q")
    quiet.always("validation found errors")
    assert lines == ["validation found errors"]

    lines.clear()
    report = Reporter(lines.append)
    report.note("for -v only", level=1)
    report.warning("overlays/dev/releases.lock is stale")
    report.warning("overlays/dev/releases.lock is stale")  # found again by a second render
    report.within("base (1a2b3c4d5e6f)").warning("overlays/dev/releases.lock is stale")
    assert lines == [
        "warning: overlays/dev/releases.lock is stale",
        "warning: base (1a2b3c4d5e6f): overlays/dev/releases.lock is stale",
    ]
