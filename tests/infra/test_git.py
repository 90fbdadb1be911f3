"""infra/git/: identities, ancestry in shallow clones, notes, temporary worktrees, revisions."""

from __future__ import annotations

import ast
import importlib
import io
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers import commit_all, git, make_repo
from toolkit.infra import git as gitmod
from toolkit.infra import process
from toolkit.infra.errors import GitError


def test_ancestry_in_a_shallow_clone_needs_deepening(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "src", {"a.txt": "1"}, example=False)
    first = git(repo, "rev-parse", "HEAD")
    (repo / "a.txt").write_text("2")
    second = commit_all(repo, "second")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", repo.as_uri(), str(clone))
    assert gitmod.is_shallow(clone) and not gitmod.has_commit(clone, first)
    gitmod.fetch_commits(clone, "origin", [first])
    assert gitmod.has_commit(clone, first)
    assert not gitmod.is_ancestor(clone, first, second), "cut off: git cannot see the link"
    gitmod.unshallow(clone, "origin")
    assert not gitmod.is_shallow(clone)
    assert gitmod.is_ancestor(clone, first, second)


def test_notes_round_trip_whatever_the_fan_out(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "src", {"a.txt": "1"}, example=False)
    who = gitmod.Identity("t", "t@example.com")
    head = git(repo, "rev-parse", "HEAD")
    notes = gitmod.write_notes(repo, parent=None, committer=who, message="m\n", notes={head: b"hi"})

    def note_on(target: str) -> list[bytes]:
        found = gitmod.read_blobs(repo, notes, gitmod.note_paths(target)).values()
        return [data for data in found if data is not None]

    assert note_on(head) == [b"hi"]  # at exactly one of the fan-outs git may choose
    assert note_on("0" * 40) == []
    assert git(repo, "for-each-ref") == f"{head} commit\trefs/heads/main"  # no ref moved
    git(repo, "update-ref", "refs/notes/test", notes)
    assert git(repo, "notes", "--ref=test", "show", head) == "hi"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"a.txt": "one\n"}, example=False)


def registered_worktrees(repo: Path) -> int:
    return git(repo, "worktree", "list", "--porcelain").count("worktree ")


@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_temporary_worktree_is_removed_when_the_body_fails(
    repo: Path, failure: type[BaseException]
) -> None:
    head = git(repo, "rev-parse", "HEAD")
    (repo / "a.txt").write_text("work tree edit\n")
    seen: list[Path] = []
    with pytest.raises(failure), gitmod.temporary_worktree(repo, head) as tree:
        seen.append(tree)
        assert (tree / "a.txt").read_text() == "one\n"  # the commit, not the work tree
        assert registered_worktrees(repo) == 2
        raise failure()
    assert not seen[0].exists() and not seen[0].parent.exists()
    assert registered_worktrees(repo) == 1
    assert (repo / "a.txt").read_text() == "work tree edit\n"


def test_temporary_worktree_is_removed_even_after_its_directory_vanished(repo: Path) -> None:
    with gitmod.temporary_worktree(repo, "HEAD") as tree:
        shutil.rmtree(tree)
    assert registered_worktrees(repo) == 1


def test_a_commit_that_does_not_exist_leaves_nothing(repo: Path) -> None:
    with pytest.raises(GitError), gitmod.temporary_worktree(repo, "0" * 40):
        pass
    assert registered_worktrees(repo) == 1


def test_default_branch_prefers_the_remotes_head(repo: Path, tmp_path: Path) -> None:
    assert gitmod.default_branch(repo) == "refs/heads/main"
    clone = tmp_path / "clone"
    git(repo, "clone", "-q", str(repo), str(clone))
    assert gitmod.default_branch(clone) == "refs/remotes/origin/main"
    git(clone, "switch", "-q", "-c", "feature")
    (clone / "a.txt").write_text("two\n")
    commit_all(clone)
    base = gitmod.merge_base(clone, "HEAD", "refs/remotes/origin/main")
    assert base == git(repo, "rev-parse", "HEAD")


def test_commit_of_and_read_blobs(repo: Path) -> None:
    assert gitmod.commit_of(repo, "main") == git(repo, "rev-parse", "HEAD")
    assert gitmod.commit_of(repo, "nope") is None
    blob = git(repo, "rev-parse", "HEAD:a.txt")
    assert gitmod.read_objects(repo, [blob, blob]) == [b"one\n", b"one\n"]
    assert gitmod.read_objects(repo, []) == []


def test_write_commit_streams_each_distinct_content_once(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chart's CRDs are the same in every environment: fast-import is given each distinct
    content once, and every file holding it is on the branch, byte for byte, with its mode."""
    crd = b"kind: CustomResourceDefinition\n" + b"x" * 100_000 + b"\n"
    files = {f"env-{i}/monitoring/crd.yaml": crd for i in range(20)}
    files["env-0/run.sh"] = crd
    files["env-0/other.yaml"] = b"kind: ConfigMap\n"
    streams: list[int] = []
    run_git = gitmod.writing.run_git

    def recording(repo: Path, *args: str, **options: object) -> object:
        if args[0] == "fast-import":
            stream = options["input"]
            assert isinstance(stream, io.BufferedRandom)  # a file: the stream is never held whole
            streams.append(len(stream.read()))
            stream.seek(0)
        return run_git(repo, *args, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(gitmod.writing, "run_git", recording)
    who = gitmod.Identity("T", "t@example.com")
    parent = git(repo, "rev-parse", "HEAD")
    commit = gitmod.write_commit(
        repo,
        parent=parent,
        message="m",
        author=who,
        committer=who,
        delete=["a.txt"],
        files=files,
        executable={"env-0/run.sh"},
    )
    assert streams and streams[0] < 2 * len(crd)
    for path, data in files.items():
        assert gitmod.read_objects(repo, [git(repo, "rev-parse", f"{commit}:{path}")]) == [data]
    listing = git(repo, "ls-tree", "-r", commit)
    assert "100755 blob" in next(line for line in listing.splitlines() if "run.sh" in line)
    assert "a.txt" not in listing


def test_reading_the_work_tree_takes_no_lock_an_interruption_could_leave(repo: Path) -> None:
    """`git status` rewrites the index to refresh it when it can, under `.git/index.lock`: a git
    ended by Ctrl-C there would leave the lock, and every git after it refused. toolkit's reads
    take no such optional lock: the index is left as it was."""
    tracked = repo / "a.txt"
    an_hour_ago = tracked.stat().st_mtime - 3600
    os.utime(tracked, (an_hour_ago, an_hour_ago))  # its stat no longer what the index holds
    index = repo / ".git" / "index"
    before = (index.read_bytes(), index.stat().st_mtime_ns)

    status = gitmod.work_tree_status(repo)

    assert status.changed == ()
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before


def test_the_work_trees_status_names_every_path_that_differs_and_the_commit_it_differs_from(
    tmp_path: Path,
) -> None:
    """A staged rename (both its paths), a conflict, an untracked file and an ignored one, paths
    with spaces; HEAD's commit with them, and none before the first commit."""
    repo = make_repo(
        tmp_path / "repo",
        {"old name.txt": "1\n", "f.txt": "base\n", ".gitignore": "*.log\n"},
        example=False,
    )
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "f.txt").write_text("theirs\n")
    commit_all(repo, "theirs")
    git(repo, "checkout", "-q", "main")
    (repo / "f.txt").write_text("ours\n")
    head = commit_all(repo, "ours")
    process.run(("git", "merge", "-q", "other"), cwd=repo, check=False)  # a conflict in f.txt
    git(repo, "mv", "old name.txt", "new name.txt")
    (repo / "sub dir").mkdir()
    (repo / "sub dir" / "new file").write_text("x")
    (repo / "debug.log").write_text("x")

    status = gitmod.work_tree_status(repo)

    assert status.changed == ("f.txt", "new name.txt", "old name.txt", "sub dir/new file")
    assert status.ignored == ("debug.log",)
    assert status.head == head
    unborn = tmp_path / "unborn"
    unborn.mkdir()
    git(unborn, "init", "-q")
    (unborn / "a").write_text("x")
    assert gitmod.work_tree_status(unborn) == gitmod.WorkTreeStatus(("a",), (), None)


def test_a_subject_is_read_as_the_commit_has_it(repo: Path) -> None:
    """A verbatim message keeps its leading spaces; only the line's end is not the subject."""
    git(repo, "commit", "-q", "--allow-empty", "--cleanup=verbatim", "-m", "  indented: subject")

    assert gitmod.subject(repo, "HEAD") == "  indented: subject"


def test_an_identity_takes_each_part_where_it_is_set(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIT_<ROLE>_NAME/EMAIL first, else git config (the last value set, as `git config --get`
    answers), else toolkit's default; name and email each on its own."""
    git(repo, "config", "user.name", "First")
    git(repo, "config", "--add", "user.name", "Last")
    git(repo, "config", "user.email", "config@example.com")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Env Author")
    assert gitmod.identity(repo, "author") == gitmod.Identity("Env Author", "config@example.com")
    assert gitmod.identity(repo, "committer") == gitmod.Identity("Last", "config@example.com")
    git(repo, "config", "--unset-all", "user.name")
    git(repo, "config", "--unset", "user.email")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(repo / "no-such-config"))
    assert gitmod.identity(repo, "committer") == gitmod.Identity(
        gitmod.DEFAULT_NAME, gitmod.DEFAULT_EMAIL
    )


def _declared_exports() -> list[tuple[str, str]]:
    """(module, name) of every import the package's __init__ declares for the type checker."""
    tree = ast.parse(Path(gitmod.__file__).read_text())
    return [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.startswith(gitmod.__name__)
        for alias in node.names
    ]


def test_every_name_the_package_exports_is_its_modules_own() -> None:
    """The package imports a name on first use: each is the object its module defines, the
    names the type checker is told of are the ones exported, and no other name resolves."""
    declared = _declared_exports()

    assert sorted(name for _, name in declared) == sorted(gitmod.__all__)
    # Every module imported first: importing one sets its name on the package, which must not
    # hide a function of that name.
    modules = {module: importlib.import_module(module) for module, _ in declared}
    for module, name in declared:
        assert getattr(gitmod, name) is getattr(modules[module], name), name
    with pytest.raises(AttributeError, match="no attribute '_user_config'"):
        gitmod._user_config  # noqa: B018 (a module's private name is not exported)


def test_a_name_loads_only_the_modules_before_its_own() -> None:
    """Asking for what every run uses loads neither pushing, tree writing nor identities."""
    probe = (
        "import sys\n"
        "from toolkit.infra import git\n"
        "git.work_tree_status, git.read_objects, git.local_refs\n"
        "print(sorted(m for m in sys.modules if m.startswith('toolkit.infra.git.')))\n"
    )
    loaded = process.run((sys.executable, "-c", probe)).stdout.decode()

    assert "toolkit.infra.git.worktree" in loaded
    for unused in ("remotes", "trees", "identities"):
        assert f"toolkit.infra.git.{unused}" not in loaded
