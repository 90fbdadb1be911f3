"""hydrator.metadata: written and read in one place, the branch's text read as data."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import git, make_repo
from toolkit.hydrate import metadata
from toolkit.hydrate.metadata import Metadata, ReleaseRecord


def test_what_is_written_reads_back_the_same() -> None:
    written = Metadata(
        dry_sha="b" * 40,
        repo_url="https://git.example.com/config.git",
        commands=("helm template api charts/api",),
        tools={"helm": "3.18.0", "toolkit": "0.1.0"},
        releases=(
            ReleaseRecord("api", "api", "api", "1.4.0", "sha256:" + "c" * 64),
            ReleaseRecord(
                "web", "web", "web", "2.0.0", "sha256:" + "d" * 64, "oci://r.example/c", True
            ),
        ),
        input_hash="sha256:e",
        input_environments=("dev",),
    )
    assert metadata.parse(written.dump()) == written
    assert metadata.parse(b"[1, 2]") is None
    assert metadata.parse(b"{not json") is None
    assert metadata.parse(None) is None


def test_recorded_metadata_takes_only_a_commit_name_as_the_source(tmp_path: Path) -> None:
    """The branch is data anyone with push access wrote: a drySha that is not a commit name
    (an option, a ref) must never reach git."""
    sha = "a" * 40
    fields = {"drySha": sha, "inputHash": "sha256:x", "inputEnvironments": ["dev"], "tools": {}}
    odd = {**fields, "drySha": "--output=/tmp/written-by-git"}
    repo = make_repo(
        tmp_path / "branch",
        {"dev/hydrator.metadata": json.dumps(fields), "qa/hydrator.metadata": json.dumps(odd)},
        example=False,
    )

    found = metadata.read(repo, git(repo, "rev-parse", "HEAD"), ["dev", "qa", "none"])

    assert found["dev"] is not None and found["dev"].dry_sha == sha
    assert found["dev"].input_environments == ("dev",)
    assert found["qa"] is not None and found["qa"].dry_sha is None
    assert found["none"] is None
