"""`toolkit status` on real repositories: what runs where, read back from the rendered branch."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.charts import ChartRepo
from tests.golden import assert_golden
from tests.helpers import Cli, commit_all, git, json_result, logging_git, make_repo
from toolkit.promote import yamldocs
from toolkit.render import pipeline


def stage(name: str, version: str, tag: str) -> dict[str, str]:
    """One environment: chart `demo` at `version`, the kustomize image `acme/web` at `tag`."""
    return {
        f"overlays/{name}/releases.yaml": (
            f"releases:\n  - name: demo\n    namespace: demo\n    chart: charts/demo\n"
            f'    version: "{version}"\n'
        ),
        f"overlays/{name}/kustomization.yaml": (
            f'resources: [web.yaml]\nimages:\n  - name: ghcr.io/acme/web\n    newTag: "{tag}"\n'
        ),
        f"overlays/{name}/web.yaml": (
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: demo\n"
            "spec:\n  containers:\n    - name: web\n      image: ghcr.io/acme/web:0.0.0\n"
        ),
        f"overlays/{name}/values/common/shared.yaml": f"owner: {name}\n",
    }


@pytest.fixture
def staged_repo(tmp_path: Path, chart_repo: ChartRepo, run_cli: Cli) -> Path:
    """dev, staging and production at three chart versions and three image tags, hydrated."""
    chart_repo.add("demo", "1.0.0", "1.1.0", "1.2.0")
    files = {
        "toolkit.yaml": (
            "environments: [{name: dev}, {name: staging}, {name: production}]\n"
            f"repositories:\n  charts: {chart_repo.url}\n"
            'promotion:\n  copy: ["values/common/**"]\n'
        ),
        **stage("dev", "1.2.0", "3.0.0"),
        **stage("staging", "1.1.0", "2.0.0"),
        **stage("production", "1.0.0", "1.0.0"),
    }
    files["overlays/production/values/common/shared.yaml"] = "owner: staging\n"
    repo = make_repo(tmp_path / "config", files, example=False)
    assert run_cli(repo, "lock").exit_code == 0
    commit_all(repo, "lock")
    result = run_cli(repo, "hydrate", "--tag")
    assert result.exit_code == 0, result.stderr
    return repo


def test_status_json_reports_each_version_image_and_pending_promotion(
    run_cli: Cli, staged_repo: Path
) -> None:
    result = run_cli(staged_repo, "status", "--json")
    assert result.exit_code == 0, result.stderr
    report = json_result(result.stdout)
    head = git(staged_repo, "rev-parse", "HEAD")
    by_name = {env["name"]: env for env in report["environments"]}
    assert list(by_name) == ["dev", "staging", "production"]
    expected = {
        "dev": (
            "1.2.0",
            "3.0.0",
            "staging",
            [
                "release demo: 1.1.0 -> 1.2.0",
                "image ghcr.io/acme/web: newTag 2.0.0 -> 3.0.0",
                "file values/common/shared.yaml (updated)",
            ],
        ),
        "staging": (
            "1.1.0",
            "2.0.0",
            "production",
            ["release demo: 1.0.0 -> 1.1.0", "image ghcr.io/acme/web: newTag 1.0.0 -> 2.0.0"],
        ),
        "production": ("1.0.0", "1.0.0", None, []),
    }
    for name, (version, tag, following, pending) in expected.items():
        env = by_name[name]
        assert [(r["name"], r["chart"], r["version"]) for r in env["releases"]] == [
            ("demo", "demo", version)
        ]
        assert env["releases"][0]["digest"].startswith("sha256:")
        assert env["images"] == [f"ghcr.io/acme/web:{tag}"]
        assert env["nextEnvironment"] == following
        assert env["pendingPromotion"] == pending
        assert (env["sourceCommit"], env["lastTag"], env["stale"]) == (head, f"{name}/1", False)
        assert env["sourceSubject"] == "lock"
        assert env["branchRef"] == "refs/heads/rendered"


def test_status_markdown_is_a_table(run_cli: Cli, staged_repo: Path) -> None:
    result = run_cli(staged_repo, "status", "--format", "markdown")
    head = git(staged_repo, "rev-parse", "HEAD")[:12]
    date = git(staged_repo, "log", "-1", "--format=%cI")
    masked = result.stdout.replace(head, "<head>").replace(date, "<date>")
    assert_golden("status.md", masked)


def test_status_says_stale_once_the_work_tree_moves_on(run_cli: Cli, staged_repo: Path) -> None:
    path = staged_repo / "overlays/staging/kustomization.yaml"
    path.write_text(path.read_text().replace('"2.0.0"', '"2.0.1"'))
    commit_all(staged_repo, "staging: web 2.0.1")
    report = json_result(run_cli(staged_repo, "status", "--json").stdout)
    assert [(env["name"], env["stale"]) for env in report["environments"]] == [
        ("dev", False),
        ("staging", True),
        ("production", False),
    ]


def test_status_plans_only_what_changed_and_parses_each_source_file_once(
    run_cli: Cli, staged_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = staged_repo / "overlays/staging/kustomization.yaml"
    path.write_text(path.read_text().replace('"2.0.0"', '"2.0.1"'))
    commit_all(staged_repo, "staging: web 2.0.1")
    planned: list[str] = []
    parsed: list[str] = []
    plans, parse = pipeline.Planner.plans, yamldocs._parse

    def counting_plans(self: pipeline.Planner, names: Collection[str]) -> Any:
        planned.extend(names)
        return plans(self, names)

    def counting_parse(raw: bytes, name: str) -> yamldocs.YamlDoc:
        parsed.append(name)
        return parse(raw, name)

    monkeypatch.setattr(pipeline.Planner, "plans", counting_plans)
    monkeypatch.setattr(yamldocs, "_parse", counting_parse)
    report = json_result(run_cli(staged_repo, "status", "--json").stdout)
    assert [env["stale"] for env in report["environments"]] == [False, True, False]
    assert planned == ["staging"]  # dev and production: nothing they read changed since
    # staging's files serve both promotions it is in (from dev, and to production).
    assert "overlays/staging/kustomization.yaml" in parsed
    assert len(parsed) == len(set(parsed))


def test_status_reads_the_remotes_branch_in_a_fresh_clone(
    run_cli: Cli, staged_repo: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(staged_repo), str(remote))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    assert git(clone, "branch", "--list", "rendered") == ""
    report = json_result(run_cli(clone, "status", "production", "--json").stdout)
    (production,) = report["environments"]
    assert production["images"] == ["ghcr.io/acme/web:1.0.0"]
    assert production["renderedCommit"] == git(clone, "rev-parse", "origin/rendered")


def test_an_environment_never_hydrated_says_so(run_cli: Cli, tmp_path: Path) -> None:
    files = {
        "toolkit.yaml": "environments: [{name: dev}]\n",
        "overlays/dev/kustomization.yaml": "resources: []\n",
    }
    repo = make_repo(tmp_path / "config", files, example=False)
    result = run_cli(repo, "status")
    assert (result.exit_code, result.stdout) == (0, "dev: not hydrated\n")


def test_an_environment_the_shared_branch_does_not_hold_is_not_hydrated(
    run_cli: Cli, example_repo: Path
) -> None:
    assert run_cli(example_repo, "hydrate", "dev", "staging").exit_code == 0
    report = json_result(run_cli(example_repo, "status", "--json").stdout)
    production = report["environments"][2]
    assert (production["name"], production["renderedCommit"], production["stale"]) == (
        "production",
        None,
        None,
    )


def test_status_reads_the_remotes_branch_when_it_is_ahead_of_the_local_one(
    run_cli: Cli, staged_repo: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(staged_repo), str(remote))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    git(clone, "branch", "rendered", "origin/rendered")  # a local branch, then left behind
    path = staged_repo / "overlays/production/kustomization.yaml"
    path.write_text(path.read_text().replace('"1.0.0"', '"1.0.1"'))
    commit_all(staged_repo, "production: web 1.0.1")
    git(staged_repo, "remote", "add", "origin", str(remote))
    git(staged_repo, "push", "-q", "origin", "main")
    assert run_cli(staged_repo, "hydrate", "production", "--push").exit_code == 0
    git(clone, "fetch", "-q")
    report = json_result(run_cli(clone, "status", "production", "--json").stdout)
    (production,) = report["environments"]
    assert production["branchRef"] == "refs/remotes/origin/rendered"
    assert production["images"] == ["ghcr.io/acme/web:1.0.1"]


def _overlays(names: Collection[str]) -> dict[str, str]:
    """Kustomize-only environments, environment i running ghcr.io/acme/web at 1.0.i."""
    listed = ", ".join(f"{{name: {name}}}" for name in names)
    files = {"toolkit.yaml": f"environments: [{listed}]\n"}
    for i, name in enumerate(names):
        files |= {
            f"overlays/{name}/kustomization.yaml": (
                "resources: [web.yaml]\nimages:\n  - name: ghcr.io/acme/web\n"
                f'    newTag: "1.0.{i}"\n'
            ),
            f"overlays/{name}/web.yaml": stage(name, "", "")[f"overlays/{name}/web.yaml"],
        }
    return files


def test_status_asks_git_the_same_few_questions_however_many_environments(
    run_cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fleet's status reads one branch, its tags and its metadata whole: only the listing of
    # each environment's own directory (for its pending promotion) is asked once each.
    calls = {}
    for count in (2, 5):
        names = [f"env-{i}" for i in range(count)]
        repo = make_repo(tmp_path / f"config-{count}", _overlays(names), example=False)
        assert run_cli(repo, "hydrate", "--tag").exit_code == 0
        log = logging_git(tmp_path / f"bin-{count}", monkeypatch)
        result = run_cli(repo, "status", "--json")
        assert result.exit_code == 0, result.stderr
        calls[count] = [call.split()[0] for call in log.read_text().splitlines()]
        report = json_result(result.stdout)["environments"]
        assert [(e["name"], e["images"], e["lastTag"]) for e in report] == [
            (name, [f"ghcr.io/acme/web:1.0.{i}"], f"{name}/1") for i, name in enumerate(names)
        ]
    assert Counter(calls[5]) - Counter(calls[2]) == Counter({"ls-files": 3}), calls
