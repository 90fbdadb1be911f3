"""`toolkit diff` and the resource comparison behind it, on real repositories and renders."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.diffrepos import PLANTED, PLANTED_PLAIN, commit_known_change_set
from tests.golden import assert_golden
from tests.helpers import (
    EXAMPLE_PATHS,
    PROJECT,
    Cli,
    commit_all,
    git,
    json_error,
    json_result,
    make_repo,
)
from toolkit.config.checks import DiffIgnore
from toolkit.diff import comparison
from toolkit.infra import kubeyaml
from toolkit.manifests import model
from toolkit.render import tools

WORKTREE_PREFIX = "toolkit-worktree-"


def changes_of(result_json: str) -> dict[str, set[tuple[str, str, str, str]]]:
    """Per environment: (change, kind, namespace, name) with kustomize hash suffixes masked."""
    report = json_result(result_json)
    return {
        env["name"]: {
            (r["change"], r["kind"], r["namespace"], re.sub(r"-[a-z0-9]{10}$", "-*", r["name"]))
            for r in env["resources"]
        }
        for env in report["environments"]
    }


KNOWN_CHANGES = {
    "dev": set(),
    "staging": {
        ("renamed", "ConfigMap", "web", "web-config-*"),
        ("changed", "Deployment", "cert-rotator", "cert-rotator"),
        ("changed", "Deployment", "web", "web"),
    },
    "production": {
        ("added", "ConfigMap", "web", "web-extra"),
        ("removed", "PodDisruptionBudget", "web", "web"),
    },
}


def worktrees(repo: Path) -> list[str]:
    return [
        line
        for line in git(repo, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ]


# --- the known change set, in every format --------------------------------------------------


def test_json_shows_exactly_the_known_change_set(changed_example_repo: Path, run_cli: Cli) -> None:
    result = run_cli(changed_example_repo, "diff", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert changes_of(result.stdout) == KNOWN_CHANGES
    report = json_result(result.stdout)
    staging = {r["name"]: r for r in report["environments"][1]["resources"]}
    assert staging["cert-rotator"]["paths"] == ["/spec/replicas"]
    renamed = next(r for r in staging.values() if r["change"] == "renamed")
    assert renamed["renamedFrom"]["name"].startswith("web-config-")
    assert renamed["renamedFrom"]["name"] != renamed["name"]
    assert "/data/features.json" in renamed["paths"]
    assert report["head"] is None and report["differs"] is True
    assert report["base"] == git(changed_example_repo, "rev-parse", "HEAD")
    assert worktrees(changed_example_repo) == [f"worktree {changed_example_repo}"]


def test_text_and_markdown_show_exactly_the_known_change_set(
    changed_example_repo: Path, run_cli: Cli, tmp_path: Path
) -> None:
    text = run_cli(changed_example_repo, "diff", "--exit-code")
    assert text.exit_code == 1, text.stderr
    headings = [
        line
        for line in text.stdout.splitlines()
        if re.match(r"# (added|changed|removed|renamed) ", line)
    ]
    assert len(headings) == 5
    assert "# changed Deployment.apps cert-rotator/cert-rotator" in headings
    assert "# added ConfigMap web/web-extra" in headings
    assert "# removed PodDisruptionBudget.policy web/web" in headings
    assert any(
        re.fullmatch(r"# renamed ConfigMap web/web-config-\w+ -> web-config-\w+", h)
        for h in headings
    )
    assert "-  replicas: 2\n+  replicas: 4\n" in text.stdout
    assert '"rollout": 75}' in text.stdout  # kustomize's block scalar, line by line
    assert "\033[" not in text.stdout  # no colour when not a terminal
    assert "staging: 0 added, 3 changed, 0 removed" in text.stdout
    assert "production: 1 added, 0 changed, 1 removed" in text.stdout

    full = tmp_path / "out" / "full.md"
    cut = run_cli(
        changed_example_repo,
        "diff",
        "--format",
        "markdown",
        "--max-bytes",
        "2000",
        "--output-full",
        str(full),
    )
    assert cut.exit_code == 0, cut.stderr
    assert len(cut.stdout.encode()) <= 2000 and "resource diffs left out" in cut.stdout
    assert list(full.parent.iterdir()) == [full]  # no temporary file left beside it
    md = full.read_text()
    assert "left out" not in md
    assert md.index("| environment | added | changed | removed |") < md.index("<details>")
    assert "| dev | 0 | 0 | 0 |" in md
    assert "| staging | 0 | 3 | 0 |" in md
    assert "| production | 1 | 0 | 1 |" in md
    listed = [
        line for line in md.splitlines() if re.match(r"- (added|changed|removed|renamed) ", line)
    ]
    assert len(listed) == 5
    assert "- changed `Deployment.apps cert-rotator/cert-rotator`: `/spec/replicas`" in listed
    assert md.count("<details>") == md.count("</details>") == 2  # dev has no changes
    assert md.count("```diff") == 5


def test_text_and_markdown_of_the_known_change_set_are_golden(
    changed_example_repo: Path, run_cli: Cli
) -> None:
    base = git(changed_example_repo, "rev-parse", "HEAD")[:12]
    for fmt, golden in (
        ("text", "diff-known-change-set.txt"),
        ("markdown", "diff-known-change-set.md"),
    ):
        result = run_cli(changed_example_repo, "diff", "--format", fmt)
        assert result.exit_code == 0, result.stderr
        assert_golden(golden, result.stdout.replace(base, "<base>"))


def test_no_change_exits_0_even_with_exit_code(example_repo: Path, run_cli: Cli) -> None:
    result = run_cli(example_repo, "diff", "--exit-code", "dev")
    assert result.exit_code == 0, result.stderr
    assert "no differences" in result.stdout
    md = run_cli(example_repo, "diff", "--format", "markdown", "dev").stdout
    assert "No differences." in md and "<details>" not in md


def test_head_ref_is_rendered_from_the_commit_not_the_work_tree(
    example_repo: Path, run_cli: Cli
) -> None:
    base = git(example_repo, "rev-parse", "HEAD")
    head = commit_known_change_set(example_repo)
    # Uncommitted changes in the work tree must not leak into --head.
    (example_repo / "overlays/dev/releases.yaml").write_text("releases: []\n")
    result = run_cli(example_repo, "diff", "--base", base, "--head", "HEAD", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert changes_of(result.stdout) == KNOWN_CHANGES
    assert json_result(result.stdout)["head"] == head
    assert worktrees(example_repo) == [f"worktree {example_repo}"]


def test_base_defaults_to_where_the_branch_left_main(example_repo: Path, run_cli: Cli) -> None:
    main = git(example_repo, "rev-parse", "HEAD")
    git(example_repo, "switch", "-q", "-c", "feature")
    commit_known_change_set(example_repo)
    result = run_cli(example_repo, "diff", "--format", "json", "production")
    assert result.exit_code == 0, result.stderr
    assert json_result(result.stdout)["base"] == main
    assert changes_of(result.stdout) == {"production": KNOWN_CHANGES["production"]}


def test_base_is_read_from_the_rendered_branch_when_it_holds_that_commit(
    example_repo: Path, run_cli: Cli
) -> None:
    assert run_cli(example_repo, "hydrate").exit_code == 0
    commit_known_change_set(example_repo)
    from_branch = run_cli(example_repo, "diff", "--base", "main~1", "--format", "json")
    assert from_branch.exit_code == 0, from_branch.stderr
    git(example_repo, "branch", "-D", "rendered")
    rendering = run_cli(example_repo, "diff", "--base", "main~1", "--format", "json")
    branch_report, render_report = json_result(from_branch.stdout), json_result(rendering.stdout)
    assert [e["baseFrom"] for e in branch_report["environments"]] == ["rendered branch"] * 3
    assert [e["baseFrom"] for e in render_report["environments"]] == ["render"] * 3
    # The change set touches none of dev's inputs: its head is the branch's render too.
    assert [e["headFrom"] for e in branch_report["environments"]] == [
        "rendered branch",
        "render",
        "render",
    ]
    for env in (*branch_report["environments"], *render_report["environments"]):
        del env["baseFrom"], env["headFrom"]
    assert branch_report == render_report
    assert changes_of(from_branch.stdout) == KNOWN_CHANGES


def test_a_base_from_before_toolkit_is_refused_naming_what_to_pass(
    tmp_path: Path, run_cli: Cli
) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "config, soon\n"}, example=False)
    before = git(repo, "rev-parse", "HEAD")
    for name in EXAMPLE_PATHS:
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, repo / name)
        else:
            shutil.copy2(source, repo / name)
    result = run_cli(repo, "diff", "--base", before, "--format", "json", "dev")
    message = (
        f"--base {before} ({before[:12]}) has no toolkit.yaml: it is from before the "
        "repository used toolkit, so every resource would show as added. Pass a later commit "
        "that has it (`git log --diff-filter=A -- toolkit.yaml` names the one that added it), "
        "or review the first render with `toolkit render`"
    )
    assert result.exit_code == 2 and result.stderr == f"error: {message}\n"
    assert json_error(result.stdout)["message"] == message  # a script reads it on stdout
    commit_all(repo, "adopt toolkit")  # the merge-base, the default base, is `before` too
    git(repo, "switch", "-q", "-c", "feature")
    git(repo, "branch", "-f", "main", before)
    default = run_cli(repo, "diff", "dev")
    assert default.exit_code == 2
    assert default.stderr.startswith(
        f"error: the base, where HEAD left main ({before[:12]}), has no toolkit.yaml"
    )


def test_the_rendered_branch_as_the_base_is_refused_naming_the_source_branch(
    example_repo: Path, run_cli: Cli
) -> None:
    assert run_cli(example_repo, "hydrate", "dev").exit_code == 0
    tip = git(example_repo, "rev-parse", "rendered")
    result = run_cli(example_repo, "diff", "--base", "rendered")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        f"error: --base rendered ({tip[:12]}) is a commit of a rendered branch (what `toolkit "
        "hydrate` writes), not of the configuration: every resource would show as added. Pass "
        "the branch the change merges into instead, e.g. --base main\n"
    )


def test_the_head_is_named_by_its_commit_unless_changes_are_uncommitted(
    example_repo: Path, run_cli: Cli
) -> None:
    base = git(example_repo, "rev-parse", "HEAD")
    head = commit_known_change_set(example_repo)
    clean = run_cli(example_repo, "diff", "--base", base, "--format", "markdown", "dev")
    assert (
        f"base `{base[:12]}` (initial configuration) → head `{head[:12]}` (known change set)\n"
        in clean.stdout
    )
    plan = json_result(run_cli(example_repo, "diff", "--base", base, "--format", "json").stdout)
    assert plan["head"] == head
    (example_repo / "overlays/dev/notes.txt").write_text("untracked\n")
    dirty = run_cli(example_repo, "diff", "--base", base, "dev")
    assert dirty.stdout.startswith(
        f"base {base[:12]} (initial configuration) -> head work tree "
        f"(uncommitted changes on {head[:12]})\n"
    )
    assert (
        json_result(
            run_cli(example_repo, "diff", "--base", base, "--format", "json", "dev").stdout
        )["head"]
        is None
    )


def test_diff_ignore_rules_apply_to_output_and_exit_code(
    changed_example_repo: Path, run_cli: Cli
) -> None:
    config = changed_example_repo / "toolkit.yaml"
    config.write_text(
        config.read_text()
        + "diff:\n  ignore:\n"
        + "    - {kind: Deployment, name: cert-*, jsonPointers: [/spec/replicas]}\n"
        + "    - {kind: PodDisruptionBudget}\n"
    )
    result = run_cli(changed_example_repo, "diff", "--format", "json", "staging", "production")
    assert changes_of(result.stdout) == {
        "staging": KNOWN_CHANGES["staging"]
        - {("changed", "Deployment", "cert-rotator", "cert-rotator")},
        "production": {("added", "ConfigMap", "web", "web-extra")},
    }
    ignoring_all = config.read_text() + "    - {kind: ConfigMap}\n    - {kind: Deployment}\n"
    config.write_text(ignoring_all)
    quiet = run_cli(changed_example_repo, "diff", "--exit-code", "staging", "production")
    assert quiet.exit_code == 0, quiet.stdout
    assert "no differences" in quiet.stdout


def test_a_change_to_500_rendered_resources_fits_the_comment(tmp_path: Path, run_cli: Cli) -> None:
    chart = {
        "charts/many/Chart.yaml": "apiVersion: v2\nname: many\nversion: 1.0.0\n",
        "charts/many/templates/configmaps.yaml": (
            "{{- range $i := until 500 }}\n---\napiVersion: v1\nkind: ConfigMap\n"
            "metadata:\n  name: settings-{{ $i }}\n"
            "data:\n{{- range $k := until 12 }}\n"
            "  key-{{ $k }}: {{ $.Values.value }}-{{ $i }}-{{ $k }}\n{{- end }}\n{{- end }}\n"
        ),
        "toolkit.yaml": "environments: [{name: dev}]\n",
        "overlays/dev/releases.yaml": (
            "releases:\n  - {name: many, namespace: many, chart: ../../charts/many, "
            "set: {value: before}}\n"
        ),
    }
    repo = make_repo(tmp_path / "many", chart, example=False)
    releases = repo / "overlays/dev/releases.yaml"
    releases.write_text(releases.read_text().replace("before", "after"))
    full = tmp_path / "full.md"
    result = run_cli(repo, "diff", "--format", "markdown", "--output-full", str(full))
    assert result.exit_code == 0, result.stderr
    comment = result.stdout
    assert len(comment.encode()) <= 65_000 < len(full.read_bytes())
    assert "| dev | 0 | 500 | 0 |" in comment
    assert len(re.findall(r"^- changed `ConfigMap many/settings-\d+`", comment, flags=re.M)) == 500
    assert re.search(r"^> \d+ of 500 resource diffs left out", comment, flags=re.M)
    assert comment.count("<details>") == comment.count("</details>") == 1
    assert comment.count("```diff\n") == comment.count("\n```\n")
    assert full.read_text().count("```diff\n") == 500


# --- secrets -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_planted_secret_values_appear_in_no_format(
    secrets_repo: Path, run_cli: Cli, tmp_path: Path, fmt: str
) -> None:
    full = tmp_path / f"full.{fmt}"
    result = run_cli(secrets_repo, "diff", "--format", fmt, "--output-full", str(full))
    assert result.exit_code == 0, result.stderr
    everything = result.stdout + result.stderr + full.read_text()
    for value in PLANTED:
        assert value not in everything, value
    if fmt == "json":
        (env,) = json_result(result.stdout)["environments"]
        by_name = {
            r["name"].rsplit("-", 1)[0] if r["change"] == "renamed" else r["name"]: r
            for r in env["resources"]
        }
        credentials = by_name["app-credentials"]
        assert credentials["secretDataChanged"] is True
        statuses = {k["key"]: k["status"] for k in credentials["secretKeys"]}
        assert statuses == {"password": "changed", "token": "changed", "unchanged": "unchanged"}
        generated = by_name["generated"]
        assert generated["change"] == "renamed"
        assert [(k["key"], k["status"]) for k in generated["secretKeys"]] == [
            ("api-key", "changed")
        ]
    else:
        assert "secret key stringData.token: changed" in result.stdout
        assert "secret key data.unchanged: unchanged (4 bytes)" in result.stdout


def test_show_secrets_is_the_explicit_opt_in(secrets_repo: Path, run_cli: Cli) -> None:
    result = run_cli(secrets_repo, "diff", "--show-secrets")
    assert PLANTED_PLAIN in result.stdout


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--base", "--head"])
def test_a_ref_that_does_not_exist_is_one_message(
    example_repo: Path, run_cli: Cli, flag: str
) -> None:
    result = run_cli(example_repo, "diff", flag, "no-such-branch")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {flag} 'no-such-branch' names no commit")
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_base_failing_to_render_says_which_side_and_why(example_repo: Path, run_cli: Cli) -> None:
    template = example_repo / "charts/api/templates/configmap.yaml"
    good = template.read_text()
    template.write_text(good + '\n{{ fail "broken on purpose" }}\n')
    broken = commit_all(example_repo, "break the api chart")
    template.write_text(good)
    result = run_cli(example_repo, "diff", "--base", broken, "staging")
    assert result.exit_code == 3
    assert f"the base ({broken[:12]}) failed to render" in result.stderr
    assert "broken on purpose" in result.stderr
    assert result.stderr.count("error:") == 1 and "Traceback" not in result.stderr
    assert worktrees(example_repo) == [f"worktree {example_repo}"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_removes_the_temporary_worktree(
    example_repo: Path,
    helm_tool: tools.Tool,
    kustomize_tool: tools.Tool,
    tmp_path: Path,
    signum: signal.Signals,
) -> None:
    """Ctrl-C (or a cancelled CI job's SIGTERM) while the base renders in its worktree: exit 130
    and nothing left behind."""
    marker = tmp_path / "helm-template-started"
    wrapper = tmp_path / "helm"
    # helm that stops in `helm template` (the render in the base worktree) until toolkit ends
    # it (or, should it not, until toolkit is gone).
    wrapper.write_text(
        f"#!{sys.executable}\n"
        "import os, sys, time\n"
        "if 'template' in sys.argv:\n"
        f"    open({str(marker)!r}, 'w').close()\n"
        "    parent = os.getppid()\n"
        "    while os.getppid() == parent:\n"
        "        time.sleep(0.05)\n"
        "    sys.exit(1)\n"
        f"os.execv({str(helm_tool.path)!r}, [{str(helm_tool.path)!r}, *sys.argv[1:]])\n"
    )
    wrapper.chmod(0o755)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    # A cache of its own: a render cached by another test would never reach the stalling helm.
    env = {
        **os.environ,
        "TMPDIR": str(scratch),
        "PYTHONPATH": str(PROJECT),
        "TOOLKIT_CACHE_DIR": str(tmp_path / "cache"),
    }
    command = [
        sys.executable,
        "-m",
        "toolkit",
        "-C",
        str(example_repo),
        "--helm",
        str(wrapper),
        "--kustomize",
        str(kustomize_tool.path),
        "--no-cache",  # helm must really run for the interrupt to land in it
        "diff",
        "--base",
        "HEAD",
        "staging",
    ]
    # A file, not a pipe: a helm still stopping must not hold the test's pipe open.
    log = tmp_path / "stderr"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
            # An xdist worker ignores SIGINT, and an ignored signal is inherited: undo that.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        while not marker.exists() and proc.poll() is None:
            time.sleep(0.02)
        assert proc.poll() is None, log.read_text()
        assert [p.name for p in scratch.iterdir() if p.name.startswith(WORKTREE_PREFIX)]
        assert len(worktrees(example_repo)) == 2
        proc.send_signal(signum)
        proc.wait(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left, whatever happened
    assert proc.returncode == 130, log.read_text()
    assert "interrupted" in log.read_text() and "Traceback" not in log.read_text()
    assert [p.name for p in scratch.iterdir() if p.name.startswith(WORKTREE_PREFIX)] == []
    assert worktrees(example_repo) == [f"worktree {example_repo}"]


# --- the comparison itself -----------------------------------------------------------------


def bodies(*documents: dict[str, Any]) -> dict[model.ResourceId, model.Resource]:
    resources = model.parse(
        "".join("---\n" + kubeyaml.dump(d) for d in documents),
        source="s",
        namespace="ns",
        where="test",
    )
    return {r.id: r for r in resources}


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def test_changed_paths_are_json_pointers() -> None:
    old = {"a": {"b/c": 1, "list": [1, 2], "grow": [1]}, "gone": 1}
    new = {"a": {"b/c": 2, "list": [1, 3], "grow": [1, 2]}, "new": 1}
    assert comparison.changed_paths(old, new) == [
        "/a/b~1c",
        "/a/grow",
        "/a/list/1",
        "/gone",
        "/new",
    ]
    assert comparison.changed_paths(old, old) == []


def test_identical_sets_have_no_changes() -> None:
    same = bodies(configmap("a", x="1"))
    assert comparison.compare(same, same) == ()


def test_hash_suffix_rename_pairs_only_one_to_one() -> None:
    base = bodies(
        configmap("web-config-aaaaaaaaaa", x="1"),
        configmap("job-bbbbbbbbbb"),
        configmap("job-cccccccccc"),
    )
    head = bodies(configmap("web-config-dddddddddd", x="2"), configmap("job-eeeeeeeeee"))
    changes = {(c.change, c.id.name) for c in comparison.compare(base, head)}
    assert changes == {
        ("renamed", "web-config-dddddddddd"),
        ("removed", "job-bbbbbbbbbb"),
        ("removed", "job-cccccccccc"),
        ("added", "job-eeeeeeeeee"),
    }


def test_ignore_rules_drop_fields_with_wildcards_and_whole_resources() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "annotations": {"checksum/config": "x", "keep": "y"}},
        "spec": {"template": {"spec": {"containers": [{"image": "a:1"}, {"image": "b:1"}]}}},
    }
    resources = model.parse(
        kubeyaml.dump(deployment) + "---\n" + kubeyaml.dump(configmap("noise")),
        source="s",
        namespace="ns",
        where="t",
    )
    rules = (
        DiffIgnore(
            None,
            "Deployment",
            "w*",
            None,
            (
                ("metadata", "annotations", "checksum/config"),
                ("spec", "template", "spec", "containers", "*", "image"),
            ),
        ),
        DiffIgnore(None, "ConfigMap", "noise", "ns", ()),
    )
    kept = comparison.without_noise(resources, rules)
    (body,) = (r.body for r in kept.values())
    assert body["metadata"]["annotations"] == {"keep": "y"}
    assert body["spec"]["template"]["spec"]["containers"] == [{}, {}]
    assert deployment["metadata"]["annotations"]["checksum/config"] == "x"  # not edited in place
