"""Hostile remotes, notes, symlinks and caches: nothing they hold is run, leaked, lost or hung.

Each test is named after the case it defends; every one runs real git, helm and kustomize.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.ci import Remote, tiny_overlay
from tests.helpers import PROJECT, Cli, commit_all, git, json_result, make_repo
from toolkit.infra import git as git_module
from toolkit.infra import process
from toolkit.infra.errors import GitError


def plant_note(remote: Remote, note: dict[str, object]) -> None:
    """A watermark note on the remote's rendered tip, as anyone who can push notes may write."""
    git(remote.author, "fetch", "-q", "origin", "rendered:rendered")
    git(remote.author, "notes", "--ref=toolkit", "add", "-f", "-m", json.dumps(note), "rendered")
    git(remote.author, "push", "-q", "-f", "origin", "refs/notes/toolkit")


def test_a_note_naming_an_option_as_its_source_runs_nothing(
    tiny_remote: Remote, run_cli: Cli, tmp_path: Path
) -> None:
    assert run_cli(tiny_remote.clone("first"), "hydrate", "--push").exit_code == 0
    ran = tmp_path / "ran"
    plant_note(tiny_remote, {"drySha": {"dev": f"--upload-pack=touch {ran};false"}})
    tiny_remote.commit(tiny_overlay("dev", "v1"), "dev: v1")

    result = run_cli(tiny_remote.clone("second"), "hydrate", "--push")

    assert not ran.exists(), "the note's text reached git as an option"
    assert result.exit_code == 0, result.stderr
    assert "value: v1" in tiny_remote.show("dev/kustomize/configmap-settings.yaml")


def test_a_notes_ref_that_is_not_a_commit_is_one_clear_error(
    tiny_remote: Remote, run_cli: Cli
) -> None:
    assert run_cli(tiny_remote.clone("first"), "hydrate", "--push").exit_code == 0
    blob = git(tiny_remote.bare, "hash-object", "-w", "--stdin")
    git(tiny_remote.bare, "update-ref", "refs/notes/toolkit", blob)
    tiny_remote.commit(tiny_overlay("dev", "v1"), "dev: v1")
    clone = tiny_remote.clone("second")
    before = tiny_remote.rendered()

    result = run_cli(clone, "hydrate", "--push")

    assert result.exit_code == 4
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1, result.stderr
    assert "refs/notes/toolkit" in errors[0] and "not a commit" in errors[0]
    assert "origin" in errors[0]
    assert not list((clone / ".git").glob("fast_import_crash_*"))
    assert tiny_remote.rendered() == before


def test_git_refuses_an_option_where_an_object_name_belongs(
    tiny_remote: Remote, tmp_path: Path
) -> None:
    """The last line of defence: whatever a caller passes as a sha never reaches git as one."""
    ran = tmp_path / "ran"
    hostile = f"--upload-pack=touch {ran};false"
    clone = tiny_remote.clone("ci")
    with pytest.raises(GitError, match="is not a git object name"):
        git_module.fetch_commits(clone, "origin", [hostile])
    with pytest.raises(GitError, match="is not a git object name"):
        git_module.is_ancestor(clone, hostile, git(clone, "rev-parse", "HEAD"))
    assert not ran.exists()


def _damage(entry: Path, how: str) -> None:
    data = entry.read_bytes()
    entry.write_bytes(data[: len(data) // 2] if how == "truncated" else b"\xff\xfe" + data[::-1])


@pytest.mark.slow
@pytest.mark.parametrize("how", ["truncated", "garbage"])
def test_a_damaged_render_cache_entry_is_discarded_and_rendered_again(
    example_repo: Path, render_cache: Path, run_cli: Cli, how: str
) -> None:
    assert run_cli(example_repo, "--no-cache", "hydrate").exit_code == 0  # the truth, uncached
    truth = git(example_repo, "rev-parse", "rendered^{tree}")
    git(example_repo, "update-ref", "-d", "refs/heads/rendered")
    assert run_cli(example_repo, "render").exit_code == 0  # fills the cache
    entries = sorted(p for p in render_cache.rglob("*") if p.is_file())
    assert entries
    for entry in entries:
        _damage(entry, how)

    result = run_cli(example_repo, "-v", "hydrate")

    assert result.exit_code == 0, result.stderr
    assert git(example_repo, "rev-parse", "rendered^{tree}") == truth
    discarded = [line for line in result.stderr.splitlines() if "damaged" in line]
    assert len(discarded) == len(entries), result.stderr
    assert "rendering again" in discarded[0]
    # The entries were stored whole again: a render answered from them prints the truth.
    again = run_cli(example_repo, "render").stdout
    assert again == run_cli(example_repo, "--no-cache", "render").stdout
    assert "damaged" not in run_cli(example_repo, "-v", "render").stderr


CANARY = "canary-7f3a9c-do-not-leak"
LEAK_TEMPLATE = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leak}\n"
    'data: {env: {{ .Files.Get "files/env" | quote }}}\n'
)


def _branch_text(repo: Path) -> str:
    if not git(repo, "for-each-ref", "refs/heads/rendered"):
        return ""
    return git(repo, "log", "-p", "--format=", "rendered")


def test_a_chart_symlink_to_the_jobs_environment_is_refused(
    example_repo: Path, run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI_TOKEN", CANARY)
    chart = example_repo / "charts/api"
    (chart / "files").mkdir()
    (chart / "files/env").symlink_to("/proc/self/environ")
    (chart / "templates/leak.yaml").write_text(LEAK_TEMPLATE)
    commit_all(example_repo, "a chart file that is the job's environment")

    result = run_cli(example_repo, "hydrate")

    assert result.exit_code == 2, result.stderr
    assert "charts/api/files/env is a symlink leading outside the repository" in result.stderr
    assert "Traceback" not in result.stderr and CANARY not in result.stderr + result.stdout
    assert CANARY not in _branch_text(example_repo)


def test_a_chart_symlink_out_of_the_repository_is_refused_on_a_cache_hit(
    example_repo: Path, tmp_path: Path, run_cli: Cli, render_cache: Path
) -> None:
    """Same bytes outside as inside: the render's key is the same, and no helm runs to follow
    the link; the link is refused all the same."""
    chart = example_repo / "charts/api"
    (chart / "files").mkdir()
    (chart / "files/env").write_text("A=1\n")
    (chart / "templates/leak.yaml").write_text(LEAK_TEMPLATE)
    assert run_cli(example_repo, "render", "dev").exit_code == 0
    outside = tmp_path / "outside-env"
    outside.write_text("A=1\n")
    (chart / "files/env").unlink()
    (chart / "files/env").symlink_to(outside)

    result = run_cli(example_repo, "render", "dev")

    assert result.exit_code == 2, result.stderr
    assert "charts/api/files/env is a symlink leading outside the repository" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("link", "named"),
    [("overlays/dev/shared", "shared"), ("vendor/shared", "../../vendor/shared")],
    ids=["in-the-overlay", "named-by-the-overlay"],
)
def test_a_kustomize_symlink_out_of_the_repository_is_refused(
    example_repo: Path, tmp_path: Path, run_cli: Cli, link: str, named: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kustomization.yaml").write_text("resources: [secret.yaml]\n")
    (outside / "secret.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: leak}}\ndata: {{token: {CANARY}}}\n"
    )
    (example_repo / link).parent.mkdir(exist_ok=True)
    (example_repo / link).symlink_to(outside)
    kustomization = example_repo / "overlays/dev/kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text().replace("  - ../base\n", f"  - ../base\n  - {named}\n")
    )
    commit_all(example_repo, "a base that is a link out of the repository")

    result = run_cli(example_repo, "hydrate")

    assert result.exit_code == 2, result.stderr
    assert f"{link} is a symlink leading outside the repository" in result.stderr
    assert "Traceback" not in result.stderr
    assert CANARY not in _branch_text(example_repo)


def test_a_kustomize_base_above_the_repository_is_in_the_render_key(
    example_repo: Path, tmp_path: Path, run_cli: Cli
) -> None:
    """kustomize takes a base from anywhere by `../`: hydrate re-renders when it changes, though
    no commit of the repository can say so."""
    shared = tmp_path / "common"
    shared.mkdir()
    (shared / "kustomization.yaml").write_text("resources: [settings.yaml]\n")
    settings = shared / "settings.yaml"
    settings.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {a: v1}")
    kustomization = example_repo / "overlays/dev/kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text().replace("  - ../base\n", "  - ../base\n  - ../../../common\n")
    )
    commit_all(example_repo, "dev takes a base from beside the repository")
    assert run_cli(example_repo, "hydrate").exit_code == 0
    assert "a: v1" in git(example_repo, "show", "rendered:dev/kustomize/configmap-shared.yaml")

    settings.write_text(settings.read_text().replace("v1", "v2"))
    result = run_cli(example_repo, "hydrate")

    assert result.exit_code == 0, result.stderr
    assert "a: v2" in git(example_repo, "show", "rendered:dev/kustomize/configmap-shared.yaml")


NOTES = "refs/notes/toolkit"
RENDERED = "refs/heads/rendered"


def _remote_refs(remote: Remote) -> dict[str, str]:
    listed = git(remote.bare, "for-each-ref", "--format=%(refname) %(objectname)", RENDERED, NOTES)
    return dict(line.split() for line in listed.splitlines())


def _land_before_next_push(remote: Remote, refs: dict[str, str], start: dict[str, str]) -> None:
    """A pre-receive hook that, on the next push only, first moves the remote's refs from
    `start` to `refs`: another job's push landing between this job's listing and its push."""
    flag = remote.root / "landed"
    lines = "".join(
        f"update {ref} {refs.get(ref, '0' * 40)} {start.get(ref, '0' * 40)}\n"
        for ref in sorted({*refs, *start})
        if refs.get(ref) != start.get(ref)
    )
    hook = remote.bare / "hooks/pre-receive"
    hook.write_text(
        "#!/bin/sh\ncat >/dev/null\n"
        f'[ -e "{flag}" ] && exit 0\ntouch "{flag}"\n'
        # Ref updates are refused inside the push's quarantine; the objects are all there.
        f"unset GIT_QUARANTINE_PATH\nprintf '{lines}' | git update-ref --stdin\n"
    )
    hook.chmod(0o755)


def _reset_remote(remote: Remote, refs: dict[str, str]) -> None:
    for ref in (RENDERED, NOTES):
        if ref in refs:
            git(remote.bare, "update-ref", ref, refs[ref])
        else:
            git(remote.bare, "update-ref", "-d", ref)


@pytest.mark.parametrize("late", ["watermark", "branch"])
def test_a_watermark_is_never_written_on_a_tip_another_job_moved(
    tiny_remote: Remote, run_cli: Cli, late: str
) -> None:
    """A (dev: a), B (dev: b), C (dev back to a). The job for C changes no file after A, so it
    only notes that C was seen; the job for B, racing it, moves the branch. Whichever lands
    second must start over, or B's state stays though C is newer."""
    tiny_remote.commit(tiny_overlay("dev", "a"), "dev: a")
    assert run_cli(tiny_remote.clone("a"), "hydrate", "dev", "--push").exit_code == 0
    b = tiny_remote.commit(tiny_overlay("dev", "b"), "dev: b")
    git(tiny_remote.author, "push", "-q", "origin", f"{b}:refs/heads/at-b")
    c = tiny_remote.commit(tiny_overlay("dev", "a"), "dev: back to a")
    job_b, job_c = tiny_remote.clone("b", branch="at-b"), tiny_remote.clone("c")
    start = _remote_refs(tiny_remote)
    # What the job that lands first pushes, when it runs alone from the start.
    first, second = (job_b, job_c) if late == "watermark" else (job_c, job_b)
    assert run_cli(first, "hydrate", "dev", "--push").exit_code == 0
    landed = _remote_refs(tiny_remote)
    _reset_remote(tiny_remote, start)
    _land_before_next_push(tiny_remote, landed, start)

    result = run_cli(second, "hydrate", "dev", "--push")

    assert result.exit_code == 0, result.stderr
    assert _dev_state(tiny_remote) == ("a", c), "C is the newest source: its state must hold"
    assert "lost a race" in result.stderr
    late_b = run_cli(tiny_remote.clone("late-b", branch="at-b"), "hydrate", "dev", "--push")
    assert late_b.exit_code == 0, late_b.stderr
    assert _dev_state(tiny_remote) == ("a", c)


def _dev_state(remote: Remote) -> tuple[str, str]:
    """dev's value on the remote's branch, and the source it was last seen at (its watermark,
    else its metadata's drySha)."""
    config = remote.show("dev/kustomize/configmap-settings.yaml")
    value = next(line for line in config.splitlines() if "value:" in line).split()[-1]
    noted = git(remote.bare, "notes", "--ref=toolkit", "list")
    tip = git(remote.bare, "rev-parse", "rendered")
    note = git(remote.bare, "notes", "--ref=toolkit", "show", tip) if tip in noted else "{}"
    metadata = json.loads(remote.show("dev/hydrator.metadata"))
    return value, json.loads(note).get("drySha", {}).get("dev") or metadata["drySha"]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts every connection and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["http", "git"])
def test_a_remote_that_never_answers_is_a_timeout_naming_it(
    tiny_remote: Remote, silent_server: int, scheme: str
) -> None:
    clone = tiny_remote.clone("ci")
    url = f"{scheme}://127.0.0.1:{silent_server}/config.git"
    git(clone, "remote", "set-url", "origin", url)
    started = time.monotonic()

    result = process.run(
        [sys.executable, "-m", "toolkit", "-C", str(clone), "hydrate", "--push"],
        env={"TOOLKIT_GIT_TIMEOUT": "2"},
        check=False,
        timeout=60,  # the test's own guard: without toolkit's timeout it would wait forever
    )

    assert time.monotonic() - started < 30
    assert result.returncode == 4, result.describe()
    stderr = result.stderr.decode()
    assert f"the remote 'origin' ({url})" in stderr, stderr
    assert "Traceback" not in stderr
    assert tiny_remote.rendered() is None


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["https", "oci"])
def test_a_chart_repository_that_never_answers_is_a_timeout_naming_it(
    tmp_path: Path, silent_server: int, run_cli: Cli, monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    """HTTP had its timeout before git did; held here with the same silent server."""
    host = f"127.0.0.1:{silent_server}"
    chart = f"oci://{host}/charts/web" if scheme == "oci" else "silent/web"
    repo = make_repo(
        tmp_path / "config",
        {
            "toolkit.yaml": "environments: [{name: dev}]\n"
            + (f"repositories: {{silent: 'http://{host}'}}\n" if scheme == "https" else ""),
            "overlays/dev/releases.yaml": (
                f"releases: [{{name: web, namespace: web, chart: '{chart}', version: '^1'}}]\n"
            ),
        },
        example=False,
    )
    monkeypatch.setenv("TOOLKIT_HTTP_TIMEOUT", "0.5")

    result = run_cli(repo, "lock")

    assert result.exit_code == 2, result.stderr
    assert host in result.stderr and len(result.stderr.splitlines()) == 1
    assert "no answer within" in result.stderr


def _repo_with_chart_in_a_submodule(tmp_path: Path) -> Path:
    """The example repository, with dev's cert-rotator chart taken from a submodule."""
    library = make_repo(tmp_path / "library", example=False)
    shutil.copytree(PROJECT / "charts/cert-rotator", library / "chart")
    commit_all(library, "the chart")
    repo = make_repo(tmp_path / "config")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(library), "vendor")
    releases = repo / "overlays/dev/releases.yaml"
    releases.write_text(
        releases.read_text().replace("../../charts/cert-rotator", "../../vendor/chart")
    )
    commit_all(repo, "dev's cert-rotator from a submodule")
    return repo


def test_diff_renders_a_base_whose_chart_is_in_a_submodule(tmp_path: Path, run_cli: Cli) -> None:
    repo = _repo_with_chart_in_a_submodule(tmp_path)
    assert run_cli(repo, "hydrate").exit_code == 0
    values = repo / "overlays/dev/values/cert-rotator.yaml.j2"
    values.write_text(values.read_text().replace("logLevel: debug", "logLevel: info"))
    commit_all(repo, "not hydrated: the branch does not hold the base, which renders")
    values.write_text(values.read_text().replace("logLevel: info", "logLevel: warn"))

    result = run_cli(repo, "diff", "dev", "--format", "json")

    assert result.exit_code == 0, result.stderr
    (dev,) = json_result(result.stdout)["environments"]
    assert dev["baseFrom"] == "render" and dev["changed"] >= 1, dev


def test_diff_of_a_base_whose_submodule_commit_is_missing_says_what_to_fetch(
    tmp_path: Path, run_cli: Cli
) -> None:
    repo = _repo_with_chart_in_a_submodule(tmp_path)
    missing = "1" * 40
    git(repo, "update-index", "--cacheinfo", f"160000,{missing},vendor")
    git(repo, "commit", "-q", "-m", "a submodule commit nobody has")
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "reset", "-q", "--hard", "HEAD~1")

    result = run_cli(repo, "diff", "dev", "--base", base)

    assert result.exit_code == 4, result.stderr
    assert "records submodules (vendor) at commits this clone does not have" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", ["toolkit.yaml", "overlays/dev/releases.lock"])
def test_a_file_toolkit_reads_that_links_out_of_the_repository_is_refused(
    example_repo: Path, tmp_path: Path, run_cli: Cli, name: str
) -> None:
    """The same bytes, moved beside the repository and linked: refused all the same (dev is
    helm-only here: no kustomize build reads its directory)."""
    (example_repo / "overlays/dev/kustomization.yaml").unlink()
    outside = tmp_path / "elsewhere"
    (example_repo / name).rename(outside)
    (example_repo / name).symlink_to(outside)

    result = run_cli(example_repo, "render", "dev")

    assert result.exit_code == 2, result.stderr
    assert f"{name} is a symlink leading outside the repository" in result.stderr


def test_promote_refuses_a_target_file_that_links_out_of_the_repository(
    locked_repo: Path, tmp_path: Path, run_cli: Cli
) -> None:
    """promote edits staging's kustomization and writes it back: what lies at the end of a link
    out of the repository would come into it (and into the promotion's commit)."""
    kustomization = locked_repo / "overlays/staging/kustomization.yaml"
    outside = tmp_path / "elsewhere.yaml"
    kustomization.rename(outside)
    kustomization.symlink_to(outside)
    commit_all(locked_repo, "staging's kustomization lives elsewhere")

    result = run_cli(locked_repo, "promote", "dev", "staging")

    assert result.exit_code == 2, result.stderr
    expected = "overlays/staging/kustomization.yaml is a symlink leading outside the repository"
    assert expected in result.stderr
    assert kustomization.is_symlink() and not git(locked_repo, "status", "--porcelain")
