"""`--author` and `--committer` as given on the command line."""

from __future__ import annotations

import pytest

from toolkit.config.identity import parse_identity
from toolkit.infra.errors import InputError
from toolkit.infra.git import Identity


def test_parse_identity() -> None:
    assert parse_identity("CI Bot <ci@example.com>", what="--author") == Identity(
        "CI Bot", "ci@example.com"
    )
    for bad in ("CI Bot", "<ci@example.com>", "CI <a b>", "A <a> <b>"):
        with pytest.raises(InputError, match='is not "Name <email>"'):
            parse_identity(bad, what="--author")
