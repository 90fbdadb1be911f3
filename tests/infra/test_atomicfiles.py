"""Replacing files: one at a time, or a set all or nothing, on a real file system."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.promote import unwritable
from toolkit.infra import atomicfiles
from toolkit.infra.errors import InputError


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "a.yaml").write_bytes(b"a: 1\n")
    (tmp_path / "b.yaml").write_bytes(b"b: 1\n")
    (tmp_path / "b.yaml").chmod(0o600)
    (tmp_path / "gone.yaml").write_bytes(b"gone\n")
    return tmp_path


def test_every_change_lands(root: Path) -> None:
    with atomicfiles.all_or_nothing(root) as changes:
        changes.write(root / "a.yaml", b"a: 2\n")
        changes.write(root / "b.yaml", b"b: 2\n")
        changes.write(root / "new/dir/c.sh", b"#!/bin/sh\n", mode=0o755)
        changes.delete(root / "gone.yaml")
    assert tree(root) == {"a.yaml": b"a: 2\n", "b.yaml": b"b: 2\n", "new/dir/c.sh": b"#!/bin/sh\n"}
    assert (root / "b.yaml").stat().st_mode & 0o777 == 0o600  # an existing file keeps its mode
    assert (root / "new/dir/c.sh").stat().st_mode & 0o777 == 0o755


def test_an_error_inside_the_block_writes_nothing(root: Path) -> None:
    before = tree(root)
    with pytest.raises(RuntimeError), atomicfiles.all_or_nothing(root) as changes:
        changes.write(root / "a.yaml", b"a: 2\n")
        raise RuntimeError("planning failed")
    assert tree(root) == before


def test_a_failure_while_staging_changes_nothing(root: Path) -> None:
    before = tree(root)
    failure = r"cannot write a\.yaml/x: .*nothing was changed"
    with pytest.raises(InputError, match=failure), atomicfiles.all_or_nothing(root) as changes:
        changes.write(root / "b.yaml", b"b: 2\n")
        changes.write(root / "a.yaml/x", b"under a file\n")
    assert tree(root) == before
    assert sorted(p.name for p in root.iterdir()) == ["a.yaml", "b.yaml", "gone.yaml"]


def test_a_failure_while_renaming_puts_back_what_was_replaced(root: Path) -> None:
    (root / "z.yaml").write_bytes(b"z: 1\n")
    before = tree(root)
    failure = r"cannot write z\.yaml"
    # z.yaml is replaced last, after a.yaml, gone.yaml and new/c.yaml.
    with (
        unwritable(root / "z.yaml"),
        pytest.raises(InputError, match=failure),
        atomicfiles.all_or_nothing(root) as changes,
    ):
        changes.write(root / "a.yaml", b"a: 2\n")
        changes.write(root / "new/c.yaml", b"c\n")
        changes.delete(root / "gone.yaml")
        changes.write(root / "z.yaml", b"z: 2\n")
    assert tree(root) == before
    assert (root / "b.yaml").stat().st_mode & 0o777 == 0o600
    assert not (root / "new").exists()
    assert [p for p in root.rglob("*") if "toolkit-tmp" in p.name] == []


def test_one_file_is_replaced_whole_or_left_as_it_was(root: Path) -> None:
    atomicfiles.replace_file(root / "new" / "c.yaml", b"c\n")
    assert (root / "new" / "c.yaml").read_bytes() == b"c\n"
    assert (root / "new" / "c.yaml").stat().st_mode & 0o777 == 0o644
    with pytest.raises(RuntimeError), atomicfiles.replacing(root / "a.yaml") as out:
        out.write(b"half")
        raise RuntimeError("the writer failed half way")
    assert (root / "a.yaml").read_bytes() == b"a: 1\n"
    assert sorted(p.name for p in root.iterdir()) == ["a.yaml", "b.yaml", "gone.yaml", "new"]


def test_a_file_that_cannot_be_replaced_is_one_write_error(root: Path) -> None:
    with unwritable(root / "a.yaml"), pytest.raises(atomicfiles.WriteError) as caught:
        atomicfiles.replace_file(root / "a.yaml", b"a: 2\n", shown="the report")
    assert str(caught.value).startswith("cannot write the report: ")
    assert caught.value.exit_code == 2
    assert (root / "a.yaml").read_bytes() == b"a: 1\n"
    assert sorted(p.name for p in root.iterdir()) == ["a.yaml", "b.yaml", "gone.yaml"]
