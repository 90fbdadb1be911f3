"""`--shard K/N`: every environment in exactly one shard, shards balanced."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.hydrate import shard
from toolkit.infra.errors import InputError


@settings(deadline=None)  # no timing: a loaded CI machine must not fail it
@given(st.lists(st.text(min_size=1), unique=True), st.integers(min_value=1, max_value=8))
def test_shards_partition_the_environments_evenly(names: list[str], count: int) -> None:
    shards = [shard.pick(names, index, count) for index in range(1, count + 1)]
    assert sorted(n for s in shards for n in s) == sorted(names)
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1


def test_shard_keeps_promotion_order() -> None:
    assert shard.pick(["dev", "staging", "prod", "dr"], 2, 2) == ["staging", "dr"]


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", "-1/2"])
def test_bad_shards_say_how_to_write_one(text: str) -> None:
    with pytest.raises(InputError, match="is not K/N with 1 <= K <= N"):
        shard.parse(text)


def test_parse() -> None:
    assert shard.parse(" 2/3 ") == (2, 3)
