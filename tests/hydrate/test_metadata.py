"""hydrator.metadata: written and read in one place, the branch's text read as data."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.golden import assert_golden
from tests.helpers import Cli, commit_all, git, make_repo, show
from toolkit.charts import lockfile
from toolkit.hydrate import metadata, releaserecords
from toolkit.hydrate.metadata import Metadata
from toolkit.hydrate.releaserecords import DependencyRecord, ReleaseRecord


def test_what_is_written_reads_back_the_same() -> None:
    written = Metadata(
        dry_sha="b" * 40,
        repo_url="https://git.example.com/config.git",
        commands=("helm template api charts/api",),
        tools={"helm": "3.18.0", "toolkit": "0.1.0"},
        listed=releaserecords.listing(
            (
                ReleaseRecord(
                    "api",
                    "api",
                    "api",
                    "1.4.0",
                    "sha256:" + "c" * 64,
                    dependencies=(
                        DependencyRecord("db", "postgres", "15.1.0", "sha256:" + "f" * 64),
                    ),
                ),
                ReleaseRecord(
                    "web", "web", "web", "2.0.0", "sha256:" + "d" * 64, "oci://r.example/c", True
                ),
            ),
        ),
        input_hash="sha256:e",
        input_environments=("dev",),
    )
    read = metadata.parse(written.dump())
    assert read == written
    assert read is not None and read.releases == written.releases  # records, read on use
    assert read.releases[0].dependencies[0].chart == "postgres"
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


UMBRELLA = {
    "charts/umbrella/Chart.yaml": """\
apiVersion: v2
name: umbrella
version: 0.1.0
dependencies:
  - name: common
    alias: zeta
    version: 1.x
    repository: file://../common
  - name: common
    version: ~1.4.0
    repository: file://../common
""",
    "charts/umbrella/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: umbrella}\ndata: {a: b}\n"
    ),
    "charts/common/Chart.yaml": "apiVersion: v2\nname: common\nversion: 1.4.0\n",
    "charts/common/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Chart.Name }}-{{ .Values.n }}}\n"
    ),
    "charts/common/values.yaml": "n: one\n",
    "charts/umbrella/values.yaml": "zeta: {n: two}\n",
    "toolkit.yaml": "environments: [{name: dev}]\n",
    "overlays/dev/releases.yaml": (
        "releases:\n  - {name: app, namespace: app, chart: ../../charts/umbrella}\n"
    ),
}


def test_a_release_s_dependencies_are_listed_with_version_and_digest(
    tmp_path: Path, run_cli: Cli
) -> None:
    """Each dependency toolkit filled in, by its name in the chart (alias or name), sorted, with
    the version and digest releases.lock pins; charts without any keep their bytes (see the
    production golden)."""
    root = make_repo(tmp_path / "config", UMBRELLA, example=False)
    assert run_cli(root, "lock").exit_code == 0
    commit_all(root, "locked")
    head = git(root, "rev-parse", "HEAD")

    result = run_cli(root, "hydrate")

    assert result.exit_code == 0, result.stderr
    recorded = show(root, "dev/hydrator.metadata", exact=True).replace(head, "<head>")
    recorded = re.sub(
        r'("(?:helm|kustomize|toolkit|inputHash)": )"[^"]+"', r'\1"<varies>"', recorded
    )
    assert_golden("umbrella-hydrator.metadata", recorded)
    lock = lockfile.read_lock(root / "overlays/dev", root=root)
    assert lock is not None
    (release,) = json.loads(recorded)["releases"]
    assert release["dependencies"] == [
        {"name": d.key, "chart": d.chart, "version": d.version, "digest": d.digest}
        for d in lock.entries[0].dependencies
    ]
