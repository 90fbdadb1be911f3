"""`--shard K/N`: a stable share of the environments, so N CI jobs hydrate them all."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from toolkit.infra.errors import InputError

T = TypeVar("T")
_SHARD = re.compile(r"([0-9]+)/([0-9]+)")


def parse(text: str) -> tuple[int, int]:
    """``K/N`` with 1 <= K <= N; an InputError saying how to write it otherwise."""
    match = _SHARD.fullmatch(text.strip())
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise InputError(
            f"--shard '{text}' is not K/N with 1 <= K <= N; e.g. --shard 2/3 is the second "
            "of three jobs"
        )
    return int(match.group(1)), int(match.group(2))


def pick(items: Sequence[T], index: int, count: int) -> list[T]:
    """Shard `index` of `count` (1-based): every count-th item, starting with the index-th.

    By position in promotion order, so shards stay balanced (no shard is empty while there
    are at least `count` items) and each item is in exactly one shard.
    """
    return [item for position, item in enumerate(items) if position % count == index - 1]
