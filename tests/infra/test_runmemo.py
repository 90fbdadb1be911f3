"""Values remembered within one run, and only there."""

from __future__ import annotations

from toolkit.infra import runmemo


def test_within_a_run_each_key_is_computed_once() -> None:
    calls: list[str] = []

    def compute(name: str) -> str:
        calls.append(name)
        return name.upper()

    with runmemo.run():
        assert runmemo.remembered(("k", 1), lambda: compute("a")) == "A"
        assert runmemo.remembered(("k", 1), lambda: compute("b")) == "A"
        assert runmemo.remembered(("k", 2), lambda: compute("c")) == "C"
    assert calls == ["a", "c"]


def test_outside_a_run_nothing_is_remembered() -> None:
    calls: list[int] = []
    with runmemo.run():
        runmemo.remembered("k", lambda: calls.append(1))
    runmemo.remembered("k", lambda: calls.append(2))
    runmemo.remembered("k", lambda: calls.append(3))
    with runmemo.run():  # a new run starts empty
        runmemo.remembered("k", lambda: calls.append(4))
    assert calls == [1, 2, 3, 4]
