"""toolkit.cli.edge: where a failure becomes a message and an exit code."""

from __future__ import annotations

import pytest

from toolkit.cli import edge
from toolkit.infra import interrupt
from toolkit.render.toolprobes import ToolError


def _probe_that_could_not_start() -> int:
    raise ToolError("helm does not run as helm:\n    stderr:\n        not started: interrupted")


def test_a_failure_before_any_signal_is_the_failure(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        edge.run_guarded(False, _probe_that_could_not_start)
    assert exited.value.code == 2
    assert capsys.readouterr().err.startswith("error: helm does not run as helm")


def test_a_failure_after_a_signal_is_reported_as_the_interruption(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Once Ctrl-C or SIGTERM came, a tool that could not start (its children are ended, no
    more start) is not a broken helm: the entry point says `interrupted` and exits 130."""
    monkeypatch.setattr(interrupt._State, "received", True)
    with pytest.raises(interrupt.Interrupted):
        edge.run_guarded(False, _probe_that_could_not_start, as_json=True)
    assert capsys.readouterr() == ("", "")
