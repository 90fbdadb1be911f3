"""The render cache's store: content-addressed, atomic, and never an error of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.ci import ToolkitProcesses
from toolkit.render import tools
from toolkit.render.cache import RenderCache, key_of


def test_a_stored_output_comes_back_byte_for_byte(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path / "renders")
    key = key_of(b"helm", b"inputs")
    assert cache.get(key) is None
    text = "kind: ConfigMap\n# ünïcode\n"
    cache.put(key, text)
    assert cache.get(key) == text
    assert (tmp_path / "renders" / key[:2] / key).read_bytes().endswith(text.encode())


def test_a_rewrite_replaces_the_entry_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path)
    key = key_of(b"x")
    cache.put(key, "first")
    cache.put(key, "second")
    assert cache.get(key) == "second"
    assert [p.name for p in (tmp_path / key[:2]).iterdir()] == [key]


def test_keys_do_not_collide_when_parts_are_split_differently() -> None:
    assert key_of(b"ab", b"c") != key_of(b"a", b"bc")
    assert key_of(b"ab", b"c") == key_of(b"ab", b"c")


def test_an_unwritable_cache_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = RenderCache(blocker / "renders")
    key = key_of(b"x")
    cache.put(key, "data")
    assert cache.get(key) is None


def test_a_key_that_is_not_a_digest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        RenderCache(tmp_path).get("../../etc/passwd")


def test_processes_sharing_one_cache_print_the_same_bytes(
    example_repo: Path,
    helm_tool: tools.Tool,
    render_cache: Path,
    toolkit_processes: ToolkitProcesses,
) -> None:
    render = (example_repo, ("--helm", str(helm_tool.path), "render", "dev"))
    first = toolkit_processes([render, render])  # both miss and store the same entries at once
    assert len({output.stdout for output in first}) == 1
    entries = [p for p in render_cache.rglob("*") if p.is_file()]
    assert len(entries) == 3 and not any(p.name.startswith(".") for p in entries)  # no temp file
    (hit,) = toolkit_processes([render])
    assert hit.stdout == first[0].stdout  # and a hit prints the same
