"""Commit identities given on the command line (`--author`, `--committer`)."""

from __future__ import annotations

import re

from toolkit.infra import git
from toolkit.infra.errors import InputError

_PERSON = re.compile(r"\s*([^<>]*?)\s*<([^<>\s]*)>\s*")


def parse_identity(text: str, *, what: str) -> git.Identity:
    """``Name <email>`` as given on the command line; an InputError for anything else."""
    match = _PERSON.fullmatch(text)
    if not match or not match.group(1) or not match.group(2):
        raise InputError(
            f'{what} "{text}" is not "Name <email>"; write e.g. "CI Bot <ci@example.com>"'
        )
    return git.Identity(match.group(1), match.group(2))
