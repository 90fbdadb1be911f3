"""`toolkit rollback ENV --to REF`, run in a real repository with a bare remote: production goes
back to a tagged deploy as a new commit, hydrates to that deploy's manifests byte for byte, and
a later promotion moves it forward again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.charts.test_subcharts import demo_umbrella
from tests.fixtures.charts import ChartRepo
from tests.fixtures.promote import release_chart
from tests.helpers import (
    Cli,
    commit_all,
    git,
    json_result,
    make_repo,
    push_to_bare_remote,
    write_tree,
)
from toolkit.hydrate.metadata import FILE_NAME as METADATA

PRODUCTION = "overlays/production"
BOT = "Release Bot <release@example.com>"


def manifests(repo: Path, rev: str, env: str = "production") -> dict[str, str]:
    """Each file of ``env`` on the rendered branch at ``rev`` by path, as its blob name (equal
    names, equal bytes), but for the provenance files that name the source commit."""
    entries = git(repo, "ls-tree", "-r", rev, "--", f"{env}/").splitlines()
    found = {}
    for entry in entries:
        meta, path = entry.split("\t")
        if not path.endswith((f"/{METADATA}", "/README.md")):
            found[path] = meta.split()[2]
    return found


def replace_in(repo: Path, path: str, old: str, new: str) -> None:
    target = repo / path
    content = target.read_text()
    assert old in content, (path, old)
    target.write_text(content.replace(old, new))


@pytest.fixture
def deployed(locked_repo: Path, tmp_path: Path) -> Path:
    """The example repository with `origin`, a bare remote holding main."""
    push_to_bare_remote(locked_repo, tmp_path / "remote.git")
    return locked_repo


def deploy(repo: Path, run_cli: Cli) -> str:
    """Push main and hydrate production with a tag, as CI does after a merge; the rendered tip."""
    git(repo, "push", "-q", "origin", "HEAD:refs/heads/main")
    result = run_cli(repo, "hydrate", "production", "--push", "--tag")
    assert result.exit_code == 0, result.stderr
    return git(repo, "rev-parse", "origin/rendered")


def promote_production(repo: Path, run_cli: Cli) -> None:
    result = run_cli(repo, "promote", "staging", "production", "--commit")
    assert result.exit_code == 0, result.stderr


def three_deploys(repo: Path, run_cli: Cli) -> list[str]:
    """production/1 as the example has it, then two promotions from staging (an image, then an
    image, a promotion.copy file and a new version of the local chart api, released through
    dev and staging): the rendered tip after each."""
    tips = [deploy(repo, run_cli)]
    promote_production(repo, run_cli)
    tips.append(deploy(repo, run_cli))
    release_chart(repo, "api", "1.4.1")
    assert run_cli(repo, "promote", "dev", "staging", "--only", "api", "--commit").exit_code == 0
    replace_in(repo, "overlays/staging/kustomization.yaml", "newTag: 3.12.4", "newTag: 3.13.0")
    replace_in(repo, "overlays/staging/values/common/api.yaml", "2.8.3", "2.8.5")
    commit_all(repo, "staging: web 3.13.0, api image 2.8.5")
    promote_production(repo, run_cli)
    tips.append(deploy(repo, run_cli))
    assert len({json.dumps(manifests(repo, tip)) for tip in tips}) == 3
    return tips


def check_dry_run(deployed: Path, run_cli: Cli) -> None:
    """`--dry-run` to production/2: the plan and the rendered diff, nothing written."""
    head = git(deployed, "rev-parse", "HEAD")

    result = run_cli(deployed, "rollback", "production", "--to", "production/2", "--dry-run")

    assert result.exit_code == 1, result.stderr
    assert result.stdout.startswith("rollback production to production/2 (")
    assert "  image ghcr.io/example/web: newTag 3.13.0 -> 3.12.4" in result.stdout
    assert "  file values/common/api.yaml: updated" in result.stdout
    assert "  file kustomization.yaml: updated" in result.stdout
    assert "  release api: 1.4.1 -> 1.4.0\n" in result.stdout
    assert "cert-rotator" not in result.stdout  # what stays as it is is left out
    assert "rendered diff of production, now -> after rollback:" in result.stdout
    assert "-        image: ghcr.io/example/web:3.13.0" in result.stdout
    assert git(deployed, "rev-parse", "HEAD") == head
    assert not git(deployed, "status", "--porcelain")

    as_json = run_cli(
        deployed, "rollback", "production", "--to", "production/2", "--json", "--dry-run"
    )
    document = json_result(as_json.stdout)
    assert (document["written"], document["commit"]) == (False, None)
    assert document["diff"]["environments"][0]["name"] == "production"


def test_rollback_to_the_tag_of_two_deploys_ago_renders_it_byte_for_byte_and_promotion_moves_on(
    deployed: Path, run_cli: Cli
) -> None:
    first, _, third = three_deploys(deployed, run_cli)
    check_dry_run(deployed, run_cli)
    tagged = git(deployed, "rev-parse", "production/1^{commit}")
    undone = git(deployed, "log", "--format=%H", f"{tagged}..HEAD", "--", PRODUCTION).split()
    head = git(deployed, "rev-parse", "HEAD")

    result = run_cli(
        deployed, "rollback", "production", "--to", "production/1", "--push", "--author", BOT
    )

    assert result.exit_code == 0, result.stderr
    assert git(deployed, "rev-parse", "HEAD^") == head  # a new commit on top, nothing rewritten
    pushed = git(deployed, "ls-remote", "origin", "refs/heads/main").split()[0]
    assert pushed == git(deployed, "rev-parse", "HEAD")
    assert git(deployed, "log", "-1", "--format=%an <%ae>") == BOT
    assert not git(deployed, "status", "--porcelain")
    assert git(deployed, "diff", "--stat", "production/1", "HEAD", "--", PRODUCTION) == ""
    message = git(deployed, "log", "-1", "--format=%B")
    assert message.startswith("rollback production to production/1\n")
    assert f"Toolkit-Rolled-Back: production {head} -> production/1 {tagged}" in message
    assert len(undone) == 2 and all(
        f"  {sha[:12]} promote staging -> production" in message for sha in undone
    )
    assert "- image ghcr.io/example/web: newTag 3.13.0 -> 3.12.3" in message

    rolled_back = deploy(deployed, run_cli)

    assert manifests(deployed, rolled_back) == manifests(deployed, first)
    assert "helm.sh/chart: api-1.4.1" in git(
        deployed, "show", f"{third}:production/api/deployment-api.yaml"
    )
    assert "helm.sh/chart: api-1.4.0" in git(
        deployed, "show", f"{rolled_back}:production/api/deployment-api.yaml"
    )
    metadata = json.loads(git(deployed, "show", f"{rolled_back}:production/{METADATA}"))
    assert metadata["drySha"] == git(deployed, "rev-parse", "HEAD")
    assert git(deployed, "rev-parse", "production/4^{commit}") == git(deployed, "rev-parse", "HEAD")

    promote_production(deployed, run_cli)
    forward = deploy(deployed, run_cli)

    assert manifests(deployed, forward) == manifests(deployed, third)


def test_rollback_makes_every_file_of_env_what_it_was_at_ref(
    locked_repo: Path, run_cli: Cli
) -> None:
    """Not only what a promotion moves: a file only production has, a field of releases.yaml
    besides `version:`, and a file added since, which goes."""
    git(locked_repo, "tag", "good")
    production = locked_repo / "overlays/production"
    pdb = (production / "pdb.yaml").read_text()
    (production / "pdb.yaml").write_text(pdb.replace("minAvailable: 2", "minAvailable: 1"))
    releases = (production / "releases.yaml").read_text()
    (production / "releases.yaml").write_text(
        releases.replace("replicaCount: 2", "replicaCount: 5")
    )
    (production / "values/extra.yaml").write_text("added: later\n")
    commit_all(locked_repo, "production by hand")

    result = run_cli(locked_repo, "rollback", "production", "--to", "good")

    assert result.exit_code == 0, result.stderr
    assert git(locked_repo, "diff", "good", "HEAD", "--", "overlays/production") == ""
    assert git(locked_repo, "diff", "HEAD~1", "HEAD", "--", "overlays/dev") == ""
    for line in (
        "file pdb.yaml: updated",
        "file releases.yaml: updated",
        "file values/extra.yaml: deleted",
    ):
        assert f"  {line}\n" in result.stdout


def test_rolling_back_to_what_env_has_already_commits_nothing(deployed: Path, run_cli: Cli) -> None:
    deploy(deployed, run_cli)
    head = git(deployed, "rev-parse", "HEAD")
    result = run_cli(deployed, "rollback", "production", "--to", "production/1")
    assert result.exit_code == 0, result.stderr
    assert "nothing to roll back" in result.stdout
    assert git(deployed, "rev-parse", "HEAD") == head


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("production", "--to", "production/9"), "--to 'production/9' names no commit"),
        (("produktion", "--to", "HEAD"), "did you mean 'production'"),
        (("production",), "Missing option '--to'"),
    ],
)
def test_bad_input_is_one_message_exit_2(
    locked_repo: Path, run_cli: Cli, args: tuple[str, ...], message: str
) -> None:
    head = git(locked_repo, "rev-parse", "HEAD")
    result = run_cli(locked_repo, "rollback", *args)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert git(locked_repo, "rev-parse", "HEAD") == head


def test_uncommitted_edits_in_env_are_refused(locked_repo: Path, run_cli: Cli) -> None:
    git(locked_repo, "tag", "before")
    replace_in(locked_repo, f"{PRODUCTION}/pdb.yaml", "minAvailable: 2", "minAvailable: 1")
    result = run_cli(locked_repo, "rollback", "production", "--to", "before")
    assert result.exit_code == 2
    assert "overlays/production/ has uncommitted changes" in result.stderr


def test_a_rollback_names_the_dependencies_it_moves_back(
    tmp_path: Path, run_cli: Cli, chart_repo: ChartRepo
) -> None:
    """The chart's version is the same at both ends: the plan says which dependencies move
    (not "unchanged"), and the lock is the one REF had."""
    chart_repo.add("demo", "1.2.5", "1.3.0")
    root = make_repo(tmp_path / "config", demo_umbrella(chart_repo), example=False)
    assert run_cli(root, "lock").exit_code == 0
    commit_all(root, "locked")
    before = git(root, "rev-parse", "HEAD")
    locked = (root / "overlays/dev/releases.lock").read_bytes()
    write_tree(root, demo_umbrella(chart_repo, demo="~1.2.0"))
    assert run_cli(root, "lock", "dev").exit_code == 0
    commit_all(root, "demo ~1.2.0")

    result = run_cli(root, "rollback", "dev", "--to", before)

    assert result.exit_code == 0, result.stderr
    assert "release app: 0.1.0, dependency demo 1.2.5 -> 1.3.0" in result.stdout
    assert (root / "overlays/dev/releases.lock").read_bytes() == locked
