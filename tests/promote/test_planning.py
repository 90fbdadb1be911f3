"""`toolkit promote`, run in real git repositories: the bytes of DST's files before and after."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from yaml.nodes import MappingNode

from tests.charts.test_subcharts import demo_umbrella, documents, helm_build_and_template
from tests.fixtures.charts import ChartRepo
from tests.fixtures.promote import release_chart, unwritable, write_locks
from tests.helpers import Cli, commit_all, git, json_result, make_repo, write_tree
from toolkit.charts import lockfile
from toolkit.infra import yamledit
from toolkit.promote.images import IMAGE_FIELDS, edit_image
from toolkit.render import tools

STAGING = Path("overlays/staging")


def snapshot(repo: Path, directory: str = "overlays") -> dict[str, bytes]:
    """Every file under `directory`, by path: what "nothing was written" is checked against."""
    base = repo / directory
    return {
        path.relative_to(repo).as_posix(): path.read_bytes()
        for path in sorted(base.rglob("*"))
        if path.is_file()
    }


def text(repo: Path, path: str) -> str:
    return (repo / path).read_text()


def replace_in(repo: Path, path: str, old: str, new: str) -> None:
    target = repo / path
    content = target.read_text()
    assert old in content, (path, old)
    target.write_text(content.replace(old, new))


STAGING_KUSTOMIZATION_AFTER = """\
# staging: production-like (two replicas, TLS ingress), running what production runs next.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: web
resources:
  - namespace.yaml
  - ../base
  - ingress.yaml
images:
  - name: ghcr.io/example/web
    newTag: 3.13.0-rc.2
patches:
  # JSON 6902: two replicas and a staging-only header for the synthetic monitors.
  - path: patches/web-replicas.yaml
    target:
      group: apps
      version: v1
      kind: Deployment
      name: web
configMapGenerator:
  - name: web-config
    behavior: merge
    files:
      - config/features.json
    literals:
      - FEATURE_NEW_CHECKOUT=true
"""


def test_dev_to_staging_changes_exactly_the_expected_lines_and_renders_them(
    locked_repo: Path, run_cli: Cli
) -> None:
    before = snapshot(locked_repo)
    dev_lock = lockfile.read_lock(locked_repo / "overlays/dev", root=locked_repo)
    assert dev_lock is not None

    result = run_cli(locked_repo, "promote", "dev", "staging")

    assert result.exit_code == 0, result.stderr
    after = snapshot(locked_repo)
    changed = {path for path in after if before.get(path) != after[path]}
    # dev runs api 1.4.0 and cert-rotator 0.6.2, which staging's `~1.4` and `0.6.x` allow and
    # its lock pins already: releases.yaml and the lock stay byte for byte.
    assert changed == {
        "overlays/staging/kustomization.yaml",
        "overlays/staging/values/common/api.yaml",
    }
    assert after.keys() == before.keys()
    assert text(locked_repo, "overlays/staging/kustomization.yaml") == STAGING_KUSTOMIZATION_AFTER
    assert (
        after["overlays/staging/values/common/api.yaml"]
        == (before["overlays/dev/values/common/api.yaml"])
    )
    assert "release api: unchanged (1.4.0)" in result.stdout
    assert "release cert-rotator: unchanged (0.6.2)" in result.stdout
    assert "image ghcr.io/example/web: newTag 3.12.4 -> 3.13.0-rc.2" in result.stdout
    assert "file values/common/api.yaml: updated" in result.stdout

    rendered = run_cli(locked_repo, "render", "staging")
    assert rendered.exit_code == 0, rendered.stderr
    assert "image: ghcr.io/example/web:3.13.0-rc.2" in rendered.stdout
    assert '"2.9.0-rc.1"' in rendered.stdout or ":2.9.0-rc.1" in rendered.stdout
    assert "helm.sh/chart: api-1.4.0" in rendered.stdout
    assert "3.12.4" not in rendered.stdout


def test_a_version_dst_allows_moves_the_lock_and_keeps_releases_yaml_byte_for_byte(
    locked_repo: Path, run_cli: Cli
) -> None:
    release_chart(locked_repo, "api", "1.4.1")
    releases_before = (locked_repo / STAGING / "releases.yaml").read_bytes()
    dev_lock = lockfile.read_lock(locked_repo / "overlays/dev", root=locked_repo)
    assert dev_lock is not None and (dev_api := dev_lock.get("api")) is not None

    result = run_cli(locked_repo, "promote", "dev", "staging")

    assert result.exit_code == 0, result.stderr
    assert (locked_repo / STAGING / "releases.yaml").read_bytes() == releases_before
    staging_lock = lockfile.read_lock(locked_repo / STAGING, root=locked_repo)
    assert staging_lock is not None
    assert staging_lock.get("api") == dataclasses.replace(dev_api, constraint="~1.4")
    assert "release api: 1.4.0 -> 1.4.1 (version '~1.4' kept: it allows 1.4.1)" in result.stdout
    rendered = run_cli(locked_repo, "--locked", "render", "staging")
    assert rendered.exit_code == 0, rendered.stderr
    assert "helm.sh/chart: api-1.4.1" in rendered.stdout


def test_a_version_dst_does_not_allow_is_pinned_and_the_plan_says_why(
    locked_repo: Path, run_cli: Cli
) -> None:
    release_chart(locked_repo, "api", "1.5.0")
    releases_before = text(locked_repo, "overlays/staging/releases.yaml")

    result = run_cli(locked_repo, "promote", "dev", "staging")

    assert result.exit_code == 0, result.stderr
    # Only the version's value changes: the comment above it and the quoting stay.
    assert text(locked_repo, "overlays/staging/releases.yaml") == releases_before.replace(
        '    version: "~1.4"\n', '    version: "1.5.0"\n'
    )
    assert (
        "release api: 1.4.0 -> 1.5.0 (version '~1.4' -> '1.5.0': 1.5.0 does not satisfy '~1.4')"
        in result.stdout
    )
    git(locked_repo, "checkout", "--", ".")
    as_json = run_cli(locked_repo, "promote", "dev", "staging", "--json")
    (api,) = [r for r in json_result(as_json.stdout)["releases"] if r["name"] == "api"]
    assert (api["constraint"], api["pinnedBecause"]) == ("~1.4", "1.5.0 does not satisfy '~1.4'")


def test_only_promotes_the_named_release_and_leaves_the_rest(
    locked_repo: Path, run_cli: Cli
) -> None:
    release_chart(locked_repo, "api", "1.5.0")
    before = snapshot(locked_repo)

    result = run_cli(locked_repo, "promote", "dev", "staging", "--only", "api")

    assert result.exit_code == 0, result.stderr
    after = snapshot(locked_repo)
    changed = {path for path in after if before.get(path) != after[path]}
    assert changed == {"overlays/staging/releases.yaml", "overlays/staging/releases.lock"}
    expected = before["overlays/staging/releases.yaml"].decode().replace('"~1.4"', '"1.5.0"')
    assert text(locked_repo, "overlays/staging/releases.yaml") == expected
    staging_lock = lockfile.read_lock(locked_repo / STAGING, root=locked_repo)
    assert staging_lock is not None
    rotator = staging_lock.get("cert-rotator")
    assert rotator is not None and rotator.constraint == "0.6.x"
    assert "files: promotion.copy skipped (--only)" in result.stdout


def test_only_accepts_an_image_name(locked_repo: Path, run_cli: Cli) -> None:
    before = snapshot(locked_repo)
    result = run_cli(locked_repo, "promote", "dev", "staging", "--only", "ghcr.io/example/web")
    assert result.exit_code == 0, result.stderr
    after = snapshot(locked_repo)
    assert {p for p in after if before.get(p) != after[p]} == {
        "overlays/staging/kustomization.yaml"
    }


def test_a_failure_in_the_middle_leaves_every_dst_file_as_it_was(
    locked_repo: Path, run_cli: Cli
) -> None:
    # The kustomization, lock and releases.yaml are replaced before values/common/api.yaml,
    # which cannot be: they must all be put back.
    before = snapshot(locked_repo)
    with unwritable(locked_repo / "overlays/staging/values/common/api.yaml"):
        result = run_cli(locked_repo, "promote", "dev", "staging")

    assert result.exit_code == 2
    assert "cannot write overlays/staging/values/common/api.yaml" in result.stderr
    assert "nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(locked_repo) == before
    leftovers = [p for p in (locked_repo / "overlays").rglob("*") if "toolkit-tmp" in p.name]
    assert leftovers == []


def test_a_directory_where_a_promoted_file_goes_is_refused_before_writing(
    locked_repo: Path, run_cli: Cli
) -> None:
    (locked_repo / "overlays/dev/values/common/zz.yaml").write_text("new: true\n")
    commit_all(locked_repo, "dev adds a promoted file")
    (locked_repo / "overlays/staging/values/common/zz.yaml").mkdir()
    before = snapshot(locked_repo)
    result = run_cli(locked_repo, "promote", "dev", "staging")
    assert result.exit_code == 2
    assert "cannot write overlays/staging/values/common/zz.yaml" in result.stderr
    assert snapshot(locked_repo) == before


def test_images_take_every_field_of_src_adding_and_removing_lines(
    locked_repo: Path, run_cli: Cli
) -> None:
    kustomization = "overlays/staging/kustomization.yaml"
    replace_in(
        locked_repo,
        kustomization,
        "    newTag: 3.12.4\n",
        "    newName: registry.example.com/web  # the staging mirror\n"
        "    newTag: '3.12.4'\n"
        "  - {name: sidecar, newTag: '1.0'}\n",
    )
    replace_in(
        locked_repo,
        "overlays/dev/kustomization.yaml",
        "    newTag: 3.13.0-rc.2\n",
        "    newTag: 3.13.0-rc.2\n    digest: sha256:abc\n  - name: sidecar\n    newTag: '1.1'\n"
        "    digest: sha256:def\n",
    )
    commit_all(locked_repo, "a second image, a mirror and digests")
    before = text(locked_repo, kustomization)

    result = run_cli(
        locked_repo, "promote", "dev", "staging", "--only", "ghcr.io/example/web,sidecar"
    )

    assert result.exit_code == 0, result.stderr
    expected = before.replace(
        "    newName: registry.example.com/web  # the staging mirror\n"
        "    newTag: '3.12.4'\n"
        "  - {name: sidecar, newTag: '1.0'}\n",
        "    newTag: '3.13.0-rc.2'\n"
        "    digest: sha256:abc\n"
        "  - {name: sidecar, newTag: '1.1', digest: sha256:def}\n",
    )
    assert text(locked_repo, kustomization) == expected
    assert "newName registry.example.com/web -> (removed)" in result.stdout


def test_staging_to_production_removes_the_digest_staging_does_not_pin(
    locked_repo: Path, run_cli: Cli
) -> None:
    path = "overlays/production/kustomization.yaml"
    before = text(locked_repo, path)
    result = run_cli(locked_repo, "promote", "staging", "production")
    assert result.exit_code == 0, result.stderr
    assert text(locked_repo, path) == before.replace("newTag: 3.12.3", "newTag: 3.12.4").replace(
        "    digest: sha256:48ae224a673c9dc6ef41d9293df07092325f90c312f3396f0ffc1ddf254520f3\n", ""
    )
    # staging runs what production's "1.4.0" and "~0.6.2" allow: its releases stay as written.
    production = text(locked_repo, "overlays/production/releases.yaml")
    assert 'version: "~0.6.2"\n' in production and 'version: "1.4.0"\n' in production


def test_what_only_src_has_is_listed_as_not_promoted_with_why(
    locked_repo: Path, run_cli: Cli
) -> None:
    replace_in(
        locked_repo,
        "overlays/dev/releases.yaml",
        "releases:\n",
        "releases:\n  - name: extra\n    namespace: extra\n    chart: ../../charts/api\n",
    )
    replace_in(
        locked_repo,
        "overlays/dev/kustomization.yaml",
        "images:\n",
        "images:\n  - name: dev-only\n    newTag: '1'\n",
    )
    write_locks(locked_repo, "dev")
    commit_all(locked_repo, "dev-only release and image")
    result = run_cli(locked_repo, "promote", "dev", "staging", "--json", "--dry-run")
    assert result.exit_code == 1, result.stderr
    plan = json_result(result.stdout)
    releases = {r["name"]: r for r in plan["releases"]}
    images = {i["name"]: i for i in plan["images"]}
    assert releases["extra"]["status"] == "not promoted"
    assert "overlays/staging/releases.yaml has no release 'extra'" in releases["extra"]["reason"]
    assert images["dev-only"]["status"] == "not promoted"
    assert "has no image 'dev-only'" in images["dev-only"]["reason"]
    assert releases["api"]["status"] == "unchanged"


def test_files_are_added_updated_and_deleted_like_src(locked_repo: Path, run_cli: Cli) -> None:
    (locked_repo / "overlays/dev/values/common/cert-rotator.yaml").unlink()
    (locked_repo / "overlays/dev/values/common/nested").mkdir()
    (locked_repo / "overlays/dev/values/common/nested/flags.json").write_text('{"a": 1}\n')
    commit_all(locked_repo, "dev reshapes its promoted files")
    staging_other = snapshot(locked_repo, "overlays/staging/values")
    result = run_cli(locked_repo, "promote", "dev", "staging")
    assert result.exit_code == 0, result.stderr
    common = locked_repo / "overlays/staging/values/common"
    assert not (common / "cert-rotator.yaml").exists()
    assert (common / "nested/flags.json").read_text() == '{"a": 1}\n'
    lines = result.stdout.splitlines()
    assert "  file values/common/nested/flags.json: added" in lines
    assert "  file values/common/cert-rotator.yaml: deleted" in lines
    # Files outside promotion.copy are DST's own.
    assert (locked_repo / "overlays/staging/values/api.yaml").read_bytes() == staging_other[
        "overlays/staging/values/api.yaml"
    ]


def test_dry_run_prints_the_plan_writes_nothing_and_exits_1(
    locked_repo: Path, run_cli: Cli
) -> None:
    before = snapshot(locked_repo)
    result = run_cli(locked_repo, "promote", "dev", "staging", "--dry-run")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith("promote dev -> staging: dev in the work tree")
    assert "image ghcr.io/example/web: newTag 3.12.4 -> 3.13.0-rc.2" in result.stdout
    assert snapshot(locked_repo) == before

    document = json_result(
        run_cli(locked_repo, "promote", "dev", "staging", "--dry-run", "--json").stdout
    )
    assert document["written"] is False and document["changesAnything"] is True
    assert document["images"][0]["changes"] == [
        {"field": "newTag", "from": "3.12.4", "to": "3.13.0-rc.2"}
    ]
    assert snapshot(locked_repo) == before


def test_nothing_to_promote_exits_0_and_commits_nothing(locked_repo: Path, run_cli: Cli) -> None:
    assert run_cli(locked_repo, "promote", "dev", "staging", "--commit").exit_code == 0
    head = git(locked_repo, "rev-parse", "HEAD")
    again = run_cli(locked_repo, "promote", "dev", "staging", "--commit")
    assert again.exit_code == 0, again.stderr
    assert "nothing to promote" in again.stdout
    assert git(locked_repo, "rev-parse", "HEAD") == head
    assert run_cli(locked_repo, "promote", "dev", "staging", "--dry-run").exit_code == 0


def test_force_allows_skipping_a_stage_and_going_backwards(locked_repo: Path, run_cli: Cli) -> None:
    assert run_cli(locked_repo, "promote", "dev", "production", "--force").exit_code == 0
    assert "newTag: 3.13.0-rc.2" in text(locked_repo, "overlays/production/kustomization.yaml")
    git(locked_repo, "checkout", "--", ".")
    result = run_cli(locked_repo, "promote", "production", "staging", "--force")
    assert result.exit_code == 0, result.stderr
    assert "newTag: 3.12.3\n" in text(locked_repo, "overlays/staging/kustomization.yaml")


def _break_dst_yaml(repo: Path) -> None:
    replace_in(repo, "overlays/staging/releases.yaml", "releases:\n", "releases:\n  - [unclosed\n")
    commit_all(repo, "broken")


def _drop_src_lock(repo: Path) -> None:
    (repo / "overlays/dev/releases.lock").unlink()
    commit_all(repo, "no lock")


def _stale_src_lock(repo: Path) -> None:
    replace_in(repo, "overlays/dev/releases.yaml", '"^1.2.0"', '"^1.3.0"')
    commit_all(repo, "constraint changed, not locked")


def _dirty_dst(repo: Path) -> None:
    replace_in(repo, "overlays/staging/values/common/api.yaml", "2.8.3", "2.8.4")


BAD_INPUTS = [
    pytest.param(None, ("dev", "dev"), "SRC and DST are both 'dev'", id="same-environment"),
    pytest.param(None, ("dev", "stagin"), "did you mean 'staging'", id="unknown-environment"),
    pytest.param(
        None, ("dev", "staging", "--ref", "v9"), "--ref 'v9' names no commit", id="unknown-ref"
    ),
    pytest.param(
        _drop_src_lock,
        ("dev", "staging"),
        "overlays/dev/releases.lock not found",
        id="src-lock-missing",
    ),
    pytest.param(
        _stale_src_lock,
        ("dev", "staging"),
        "overlays/dev/releases.lock is stale for release 'api'",
        id="src-lock-stale",
    ),
    pytest.param(
        _break_dst_yaml,
        ("dev", "staging"),
        "overlays/staging/releases.yaml:4: invalid YAML",
        id="dst-unparseable",
    ),
    pytest.param(_dirty_dst, ("dev", "staging"), "uncommitted changes", id="dst-dirty"),
    pytest.param(
        None,
        ("staging", "dev"),
        "needs --force (to take dev back to what it ran before: toolkit rollback dev --to dev/<n>)",
        id="backwards",
    ),
    pytest.param(None, ("dev", "production"), "skips staging", id="skipping"),
    pytest.param(
        None, ("dev", "staging", "--only", "apj"), "did you mean 'api'", id="unknown-only"
    ),
    pytest.param(None, ("dev", "staging", "--branch", "x"), "go with --commit", id="branch-alone"),
]


@pytest.mark.parametrize(("prepare", "args", "message"), BAD_INPUTS)
def test_bad_input_is_one_message_exit_2_and_nothing_written(
    locked_repo: Path, run_cli: Cli, prepare: object, args: tuple[str, ...], message: str
) -> None:
    if callable(prepare):
        prepare(locked_repo)
    before = snapshot(locked_repo)
    head = git(locked_repo, "rev-parse", "HEAD")

    result = run_cli(locked_repo, "promote", *args)

    assert result.exit_code == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(locked_repo) == before
    assert git(locked_repo, "rev-parse", "HEAD") == head


def test_stale_lock_message_says_to_run_toolkit_lock(locked_repo: Path, run_cli: Cli) -> None:
    _stale_src_lock(locked_repo)
    result = run_cli(locked_repo, "promote", "dev", "staging")
    assert "run `toolkit lock dev`" in result.stderr


def test_allow_dirty_promotes_over_uncommitted_edits(locked_repo: Path, run_cli: Cli) -> None:
    _dirty_dst(locked_repo)
    result = run_cli(locked_repo, "promote", "dev", "staging", "--allow-dirty")
    assert result.exit_code == 0, result.stderr
    assert "2.9.0-rc.1" in text(locked_repo, "overlays/staging/values/common/api.yaml")


def test_dirty_files_outside_dst_do_not_block(locked_repo: Path, run_cli: Cli) -> None:
    replace_in(locked_repo, "overlays/production/pdb.yaml", "minAvailable: 2", "minAvailable: 1")
    assert run_cli(locked_repo, "promote", "dev", "staging").exit_code == 0


def test_a_dst_release_without_version_or_lock_gets_a_lock_and_no_version(
    locked_repo: Path, run_cli: Cli
) -> None:
    replace_in(locked_repo, "overlays/staging/releases.yaml", '    version: "~1.4"\n', "")
    (locked_repo / "overlays/staging/releases.lock").unlink()
    commit_all(locked_repo, "staging unpinned and unlocked")
    before = text(locked_repo, "overlays/staging/releases.yaml")

    result = run_cli(locked_repo, "promote", "dev", "staging", "--only", "api")

    assert result.exit_code == 0, result.stderr
    # No constraint allows every version: the lock alone says which one runs.
    assert text(locked_repo, "overlays/staging/releases.yaml") == before
    staging_lock = lockfile.read_lock(locked_repo / STAGING, root=locked_repo)
    assert staging_lock is not None
    assert [(e.release, e.constraint, e.version) for e in staging_lock.entries] == [
        ("api", None, "1.4.0")
    ]
    assert "release api: (none) -> 1.4.0\n" in result.stdout
    rendered = run_cli(locked_repo, "render", "staging")
    assert rendered.exit_code == 0, rendered.stderr
    assert "release api:" not in rendered.stderr  # the lock answers it


def test_an_image_field_is_added_after_the_fields_that_stay(
    locked_repo: Path, run_cli: Cli
) -> None:
    replace_in(
        locked_repo,
        "overlays/staging/kustomization.yaml",
        "    newTag: 3.12.4\n",
        "    newName: mirror.example.com/web\n    newTag: 3.12.4\n",
    )
    replace_in(
        locked_repo,
        "overlays/dev/kustomization.yaml",
        "    newTag: 3.13.0-rc.2\n",
        "    digest: sha256:0123\n",
    )
    commit_all(locked_repo, "dev pins by digest only; staging pulls from a mirror")
    before = text(locked_repo, "overlays/staging/kustomization.yaml")

    result = run_cli(locked_repo, "promote", "dev", "staging", "--only", "ghcr.io/example/web")

    assert result.exit_code == 0, result.stderr
    assert text(locked_repo, "overlays/staging/kustomization.yaml") == before.replace(
        "    newName: mirror.example.com/web\n    newTag: 3.12.4\n", "    digest: sha256:0123\n"
    )


def test_a_symlink_matching_promotion_copy_is_refused(locked_repo: Path, run_cli: Cli) -> None:
    (locked_repo / "overlays/dev/values/common/link.yaml").symlink_to("api.yaml")
    commit_all(locked_repo, "a symlink")
    before = snapshot(locked_repo)
    result = run_cli(locked_repo, "promote", "dev", "staging")
    assert result.exit_code == 2
    assert "overlays/dev/values/common/link.yaml is to be copied" in result.stderr
    assert snapshot(locked_repo) == before


VALUES = ["3.12.4", "1.20", "sha256:abc", "ghcr.io/x/web", "yes", "v1 beta", "it's", ""]


@settings(max_examples=100, deadline=None)
@given(
    order=st.permutations(["name", *IMAGE_FIELDS]),
    present=st.fixed_dictionaries({k: st.none() | st.sampled_from(VALUES) for k in IMAGE_FIELDS}),
    wanted=st.fixed_dictionaries({k: st.none() | st.sampled_from(VALUES) for k in IMAGE_FIELDS}),
    styles=st.lists(st.sampled_from([None, "'", '"']), min_size=4, max_size=4),
    flow=st.booleans(),
)
def test_edit_image_gives_exactly_the_wanted_fields_and_keeps_the_rest(
    order: list[str],
    present: dict[str, str | None],
    wanted: dict[str, str | None],
    styles: list[str | None],
    flow: bool,
) -> None:
    fields = {"name": "web", **present}
    keys = [k for k in order if fields[k] is not None]
    written = [
        f"{k}: {yamledit.render_scalar(fields[k] or '', s, flow=flow)}"
        for k, s in zip(keys, styles, strict=False)
    ]
    if flow:
        entry = "  - {" + ", ".join(written) + "}\n"
    else:
        entry = "  - " + "".join(f"{line}\n    # about {line[:4]}\n    " for line in written)
        entry = entry.rstrip(" ")
    text = f"# images\nimages:\n{entry}  - name: other\n    newTag: keep\npatches: []\n"
    node = yamledit.compose(text, name="k.yaml")
    images = yamledit.get(node, "images")
    assert images is not None
    target = yamledit.items(images[1])[0]
    assert isinstance(target, MappingNode)

    changes, edits = edit_image(text, "k.yaml", target, wanted)

    result = yamledit.apply(text, edits)
    expected = yaml.safe_load(text)
    for key in IMAGE_FIELDS:
        expected["images"][0].pop(key, None)
        if wanted[key] is not None:
            expected["images"][0][key] = wanted[key]
    assert yaml.safe_load(result) == expected
    assert result.startswith("# images\nimages:\n")
    assert result.endswith("  - name: other\n    newTag: keep\npatches: []\n")
    assert {c.field for c in changes} == {k for k in IMAGE_FIELDS if present[k] != wanted[k]}
    if not flow and keys[0] == "name":
        kept = [k for k in keys if k == "name" or wanted[k] is not None]
        assert all(f"# about {k[:4]}" in result for k in kept)


def test_outside_a_git_repository_is_a_git_error(locked_repo: Path, run_cli: Cli) -> None:
    shutil.rmtree(locked_repo / ".git")
    result = run_cli(locked_repo, "promote", "dev", "staging")
    assert result.exit_code == 4
    assert "is not inside a git repository" in result.stderr


def test_an_umbrella_chart_s_dependency_pins_are_promoted_with_its_tree(
    tmp_path: Path, run_cli: Cli, helm_tool: tools.Tool, chart_repo: ChartRepo
) -> None:
    """DST renders SRC's git tree of the chart with SRC's dependencies (a repository chart's
    version, a file:// chart's own tree), equal to what helm builds from SRC's chart."""
    chart_repo.add("demo", "1.2.5", "1.3.0")
    root = make_repo(tmp_path / "config", demo_umbrella(chart_repo), example=False)
    assert run_cli(root, "lock").exit_code == 0
    commit_all(root, "locked")
    write_tree(root, demo_umbrella(chart_repo, demo="~1.2.0", common="1.4.1", greeting="dev"))
    assert run_cli(root, "lock", "dev").exit_code == 0
    commit_all(root, "demo ~1.2.0 and common 1.4.1 in dev")
    dev_lock = (root / "overlays/dev/releases.lock").read_bytes()
    assert dev_lock != (root / "overlays/staging/releases.lock").read_bytes()

    dry_run = run_cli(root, "promote", "dev", "staging", "--dry-run")

    assert dry_run.exit_code == 1, dry_run.stderr
    for line in ('-  chartVersion: "1.3.0"', '+  chartVersion: "1.2.5"', '+  greeting: "dev"'):
        assert line in dry_run.stdout
    result = run_cli(root, "promote", "dev", "staging", "--commit")

    assert result.exit_code == 0, result.stderr
    assert (
        "release app: 0.1.0, dependency common 1.4.0 -> 1.4.1, dependency demo 1.3.0 -> 1.2.5"
        in result.stdout
    )
    # Both environments now run the same chart: their locks are the same bytes.
    assert (root / "overlays/staging/releases.lock").read_bytes() == dev_lock
    staging = run_cli(root, "--locked", "render", "staging")
    assert (staging.exit_code, staging.stderr) == (0, "")
    expected = helm_build_and_template(
        helm_tool, root / "charts" / "umbrella", tmp_path, chart_repo.url
    )
    assert documents(staging.stdout) == documents(expected)
    assert documents(expected)[("ConfigMap", "app-demo")]["data"]["chartVersion"] == "1.2.5"
