"""What is computed once per run: a chart directory's digest, a values file's parse.

A fleet renders one chart and one shared values file hundreds of times. Within `run()`, files
are taken not to change, so each is read once; outside it nothing is remembered, so nothing
can go stale between runs (or between the tests of one process).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_store: ContextVar[dict[Hashable, Any] | None] = ContextVar("run_memo", default=None)


@contextmanager
def run() -> Iterator[None]:
    """Remember what `remembered` computes until the block ends."""
    token = _store.set({})
    try:
        yield
    finally:
        _store.reset(token)


def remembered(key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, once per `key` within a run; every time outside one.

    What it returns is shared by every caller within the run: callers must not modify it."""
    store = _store.get()
    if store is None:
        return compute()
    if key not in store:
        store[key] = compute()
    value: T = store[key]
    return value
