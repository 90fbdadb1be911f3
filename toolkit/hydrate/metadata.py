"""`<env>/hydrator.metadata`: what a render came from, written and read here only (its releases
as records in releaserecords.py).

The field names are Argo CD's source hydrator's (`drySha`, `repoURL`, `commands`) plus toolkit's
own provenance (tools, releases, the input hash, the environments the render read). What is
read comes from the branch, which anyone can write to: a field of the wrong type reads as absent.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.infra import git

if TYPE_CHECKING:
    from toolkit.hydrate.releaserecords import ReleaseRecord
    from toolkit.render.rendering import EnvironmentRender

FILE_NAME = "hydrator.metadata"


@dataclass(frozen=True)
class Metadata:
    """The contents of one environment's hydrator.metadata."""

    dry_sha: str | None  # None: not rendered from a commit (or not a commit name)
    repo_url: str
    commands: tuple[str, ...]
    tools: Mapping[str, str]
    # The releases as the file lists them, read into records (releaserecords.py) on first use:
    # a hydrate reads every environment's metadata, and seldom needs its releases.
    listed: tuple[Mapping[str, Any], ...]
    input_hash: str | None
    # The environments whose directories the inputs come from, where the render vouches for
    # them: a later hydrate skips this environment without loading it when only the others'
    # directories changed (see reach.py).
    input_environments: tuple[str, ...] | None = None

    @functools.cached_property
    def releases(self) -> tuple[ReleaseRecord, ...]:
        from toolkit.hydrate import releaserecords  # see `listed`

        return releaserecords.read(self.listed)

    def dump(self) -> bytes:
        """The file's bytes: sorted JSON, byte-stable."""
        fields: dict[str, Any] = {
            "drySha": self.dry_sha or "",
            "repoURL": self.repo_url,
            "commands": list(self.commands),
            "tools": dict(self.tools),
            "releases": [dict(entry) for entry in self.listed],
            "inputHash": self.input_hash or "",
        }
        if self.input_environments is not None:
            fields["inputEnvironments"] = list(self.input_environments)
        return (json.dumps(fields, indent=2, sort_keys=True) + "\n").encode()


def text_field(within: Mapping[str, Any], key: str) -> str | None:
    """A field of the file, or of a record in it, when it is non-empty text."""
    value = within.get(key)
    return value if isinstance(value, str) and value else None


def of_render(
    render: EnvironmentRender, dry_sha: str, repo_url: str, vouched: Sequence[str] | None = None
) -> Metadata:
    """The metadata of `render`, made from source commit `dry_sha` of `repo_url`; `vouched`:
    the environments the render read, where the caller vouches for them (see reach.py)."""
    from toolkit.hydrate import releaserecords  # see `Metadata.listed`

    return Metadata(
        dry_sha=dry_sha,
        repo_url=repo_url,
        commands=tuple(render.commands),
        tools=render.tool_versions,
        listed=releaserecords.listing(releaserecords.of_resolved(render.releases)),
        input_hash=render.input_hash,
        input_environments=tuple(vouched) if vouched is not None else None,
    )


def parse(data: bytes | None) -> Metadata | None:
    """The metadata in `data`, or None (absent, or not a JSON object)."""
    try:
        fields = json.loads(data) if data is not None else None
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None

    def texts(key: str) -> tuple[str, ...] | None:
        value = fields.get(key)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        return None

    tools = fields.get("tools")
    if not isinstance(tools, dict) or not all(isinstance(v, str) for v in tools.values()):
        tools = {}
    listed = fields.get("releases")
    listed = listed if isinstance(listed, list) else []
    dry_sha = text_field(fields, "drySha")
    return Metadata(
        dry_sha=dry_sha if git.is_object_id(dry_sha) else None,
        repo_url=text_field(fields, "repoURL") or "",
        commands=texts("commands") or (),
        tools=tools,
        listed=tuple(entry for entry in listed if isinstance(entry, dict)),
        input_hash=text_field(fields, "inputHash"),
        input_environments=texts("inputEnvironments"),
    )


def path_of(env: str) -> str:
    """Where an environment's metadata is on its branch."""
    return f"{env}/{FILE_NAME}"


def read(repo: Path, tip: str | None, envs: Sequence[str]) -> dict[str, Metadata | None]:
    """Each environment's metadata at commit `tip` of a rendered branch, in one git process."""
    if tip is None:
        return dict.fromkeys(envs)
    blobs = git.read_blobs(repo, tip, [path_of(env) for env in envs])
    return {env: parse(blobs[path_of(env)]) for env in envs}
