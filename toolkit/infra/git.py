"""The one place that runs git: small functions named by what they ask of it."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from toolkit.infra import owned, process
from toolkit.infra.errors import GitError, InputError

DEFAULT_NAME = "toolkit"
DEFAULT_EMAIL = "toolkit@localhost"


@dataclass(frozen=True)
class Identity:
    """A commit author or committer."""

    name: str
    email: str


@dataclass(frozen=True)
class TreeEntry:
    """One blob of a tree listing."""

    mode: str
    sha: str
    path: str


TIMEOUT_ENV = "TOOLKIT_GIT_TIMEOUT"
DEFAULT_TIMEOUT = 300.0  # seconds for one network git call: a fetch, a push, a listing
STALL_SECONDS = 60  # over HTTP(S), a transfer that moves nothing this long has stopped
_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")  # the user:token@ of a URL


def without_credentials(text: str) -> str:
    """`text` with the credentials of every URL in it left out."""
    return _CREDENTIALS.sub("", text)


def _git(
    repo: Path,
    *args: str,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> process.Output:
    try:
        return process.run(("git", *args), cwd=repo, input=input, env=env, check=check)
    except process.ProcessError as exc:
        raise GitError(f"git {args[0]} failed in {repo}:\n{exc.output.describe()}") from exc


def _git_remote(repo: Path, remote: str, *args: str, check: bool = True) -> process.Output:
    """A git call that talks to `remote`: it may take $TOOLKIT_GIT_TIMEOUT seconds (and over
    HTTP(S) stall for a minute) and never prompts; a failure names the remote."""
    seconds = process.seconds_setting(TIMEOUT_ENV, DEFAULT_TIMEOUT)
    stall = max(1, round(min(seconds, STALL_SECONDS)))
    command = ("git", "-c", "http.lowSpeedLimit=1", "-c", f"http.lowSpeedTime={stall}", *args)
    try:
        return process.run(
            command, cwd=repo, env={"GIT_TERMINAL_PROMPT": "0"}, check=check, timeout=seconds
        )
    except process.ProcessTimeout:
        raise GitError(
            f"the remote '{remote}' ({_where(repo, remote)}) did not answer: git {args[0]} was "
            f"stopped after {seconds:g} seconds; check that it is up and reachable from here, "
            f"or allow more time with {TIMEOUT_ENV}"
        ) from None
    except process.ProcessError as exc:
        raise GitError(
            f"git {args[0]} with the remote '{remote}' ({_where(repo, remote)}) failed:\n"
            f"{without_credentials(exc.output.describe())}"
        ) from exc


def _where(repo: Path, remote: str) -> str:
    url = remote_url(repo, remote)
    return without_credentials(url) if url else "no such remote"


def _text(output: process.Output) -> str:
    return output.stdout.decode().strip()


_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256 repositories


def is_object_id(text: object) -> bool:
    """Whether `text` is a full object name, as git prints one (never an option, a ref or an
    abbreviation): what a sha read from a remote, a note or a metadata file must be."""
    return isinstance(text, str) and _OBJECT_ID.fullmatch(text) is not None


def _object_ids(*shas: str) -> tuple[str, ...]:
    """`shas`, each checked to be a full object name before it becomes an argument of git."""
    for sha in shas:
        if not is_object_id(sha):
            raise GitError(f"{sha!r} is not a git object name (40 or 64 hexadecimal digits)")
    return shas


def toplevel(path: Path) -> Path:
    """The root of the work tree containing `path`."""
    output = _git(path, "rev-parse", "--show-toplevel", check=False)
    if output.returncode != 0:
        raise GitError(
            f"{path} is not inside a git repository: run `git init` there, or pass -C DIR"
        )
    return Path(_text(output))


def rev_parse(repo: Path, rev: str) -> str | None:
    """The full object name of `rev`, or None when it does not exist."""
    output = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", rev, check=False)
    return _text(output) if output.returncode == 0 else None


def head_sha(repo: Path) -> str:
    """The commit HEAD points at; an error in a repository without commits."""
    sha = rev_parse(repo, "HEAD^{commit}")
    if sha is None:
        raise GitError(f"{repo} has no commits yet: commit the configuration first")
    return sha


def subject(repo: Path, rev: str) -> str:
    """The first line of a commit's message."""
    return _text(_git(repo, "log", "-1", "--format=%s", "--end-of-options", rev))


def commit_summaries(repo: Path, shas: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(committer date in ISO 8601, subject) of each commit that exists, in one git process."""
    if not shas:
        return {}
    args = ("log", "--no-walk=unsorted", "--format=%H%x00%cI%x00%s", "--end-of-options")
    output = _git(repo, *args, *shas, check=False)
    if output.returncode != 0 and len(shas) > 1:  # one is missing (a shallow clone): each alone
        return {k: v for sha in shas for k, v in commit_summaries(repo, [sha]).items()}
    found = {}
    for line in output.stdout.decode(errors="replace").splitlines():
        sha, _, rest = line.partition("\0")
        date, _, text = rest.partition("\0")
        found[sha] = (date, text)
    return found


def commits_changing(repo: Path, since: str, until: str, path: str) -> list[tuple[str, str]]:
    """(sha, subject) of each commit after ``since`` up to ``until`` that changed ``path``
    (relative to the top of the work tree), newest first."""
    since, until = _object_ids(since, until)
    output = _git(repo, "log", "--format=%H%x00%s", f"{since}..{until}", "--", path)
    found = []
    for line in output.stdout.decode(errors="replace").splitlines():
        sha, _, text = line.partition("\0")
        found.append((sha, text))
    return found


@dataclass(frozen=True)
class WorkTreeStatus:
    """How the work tree differs from HEAD, by path relative to the top of the work tree."""

    changed: tuple[str, ...]  # modified, staged or untracked (not ignored)
    ignored: tuple[str, ...]  # ignored files, and ignored directories once (with a trailing /)


def work_tree_status(repo: Path) -> WorkTreeStatus:
    """Uncommitted changes, untracked files and ignored files, from one `git status`."""
    output = _git(
        repo, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching"
    )
    entries = iter(e for e in output.stdout.decode(errors="surrogateescape").split("\0") if e)
    changed, ignored = [], []
    for entry in entries:
        code, path = entry[:2], entry[3:]
        if code == "!!":
            ignored.append(path)
            continue
        changed.append(path)
        if code[0] in "RC":  # a staged rename or copy: the next entry is where it came from
            changed.append(next(entries, ""))
    return WorkTreeStatus(tuple(sorted(changed)), tuple(sorted(ignored)))


def unwatched_paths(repo: Path) -> list[str]:
    """Files git is told not to look at (assume-unchanged, skip-worktree), which `git status`
    leaves out though they may differ from HEAD; paths from the top of the work tree."""
    output = _git(repo, "ls-files", "-v", "-z", "--full-name")
    entries = output.stdout.decode(errors="surrogateescape").split("\0")
    # `ls-files -v` tags an assume-unchanged file in lower case, a skip-worktree one with S.
    return [e[2:] for e in entries if e and (e[0].islower() or e[0] == "S")]


def changed_paths(repo: Path) -> list[str]:
    """Tracked files with uncommitted changes and untracked files that are not ignored."""
    return list(work_tree_status(repo).changed)


def symlink_paths(repo: Path, paths: Sequence[str]) -> list[str]:
    """Tracked symlinks under `paths` (relative to `repo`), by path from the top of the work
    tree."""
    output = _git(repo, "ls-files", "--stage", "-z", "--full-name", "--", *paths, env=_LITERAL)
    entries = output.stdout.decode(errors="surrogateescape").split("\0")
    return [entry.split("\t", 1)[1] for entry in entries if entry.startswith("120000 ")]


def paths_between(repo: Path, old: str, new: str) -> list[str] | None:
    """Every path whose content differs between commits `old` and `new` (a rename as both
    paths); None when `old` is not in this clone."""
    commits = (f"{sha}^{{commit}}" for sha in _object_ids(old, new))
    output = _git(
        repo,
        "diff-tree",
        "-r",
        "-z",
        "--name-only",
        "--no-renames",
        "--end-of-options",
        *commits,
        check=False,
    )
    if output.returncode != 0:
        return None
    return [p for p in output.stdout.decode(errors="surrogateescape").split("\0") if p]


def remote_url(repo: Path, remote: str = "origin") -> str | None:
    """The fetch URL of a remote, or None when there is no such remote."""
    output = _git(repo, "remote", "get-url", "--", remote, check=False)
    return _text(output) if output.returncode == 0 else None


def config_value(repo: Path, key: str) -> str | None:
    """A git config value, or None when unset."""
    output = _git(repo, "config", "--get", key, check=False)
    return _text(output) or None if output.returncode == 0 else None


def identity(repo: Path, role: str) -> Identity:
    """Who a commit is by: GIT_<ROLE>_NAME/EMAIL, else git config, else toolkit's default."""
    name = os.environ.get(f"GIT_{role.upper()}_NAME") or config_value(repo, "user.name")
    email = os.environ.get(f"GIT_{role.upper()}_EMAIL") or config_value(repo, "user.email")
    return Identity(name or DEFAULT_NAME, email or DEFAULT_EMAIL)


def tree_of(repo: Path, rev: str) -> str:
    """The tree object of a commit."""
    return _text(_git(repo, "rev-parse", "--end-of-options", f"{rev}^{{tree}}"))


def list_tree(repo: Path, rev: str, path: str = "") -> list[TreeEntry]:
    """Every blob under `path` in `rev` (recursive)."""
    args = ["ls-tree", "-r", "-z", "--full-tree", "--end-of-options", rev]
    if path:
        args += ["--", path]
    output = _git(repo, *args)
    entries = []
    for record in output.stdout.decode().split("\0"):
        if not record:
            continue
        meta, name = record.split("\t", 1)
        mode, _kind, sha = meta.split()
        entries.append(TreeEntry(mode, sha, name))
    return entries


def read_blob(repo: Path, rev: str, path: str) -> bytes | None:
    """A file's bytes as committed in `rev`, or None when it is not there."""
    output = _git(repo, "cat-file", "blob", "--end-of-options", f"{rev}:{path}", check=False)
    return output.stdout if output.returncode == 0 else None


def _data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


def _person(role: str, who: Identity, when: str) -> bytes:
    return f"{role} {who.name} <{who.email}> {when}\n".encode()


_STREAM_PATH = re.compile(r'[^\x00-\x1f\x7f"\\]+')


def _stream_path(path: str) -> str:
    """A path quoted for a fast-import stream; one that could end its line or its quotes is
    refused (toolkit's own paths never are: the layout keeps names to [a-z0-9._-])."""
    if not _STREAM_PATH.fullmatch(path) or path.startswith("/"):
        raise GitError(f"refusing to write the path {path!r} to the rendered branch")
    return f'"{path}"'


SCRATCH_PREFIX = "scratch-"
_SCRATCH_REF = "refs/toolkit/scratch"
WORKTREE_PREFIX = "toolkit-worktree-"


def _directories(repo: Path) -> tuple[Path, Path]:
    """The repository's common git directory and its object directory."""
    output = _git(repo, "rev-parse", "--git-common-dir", "--git-path", "objects")
    common, objects = output.stdout.decode().splitlines()
    return (repo / common).resolve(), (repo / objects).resolve()


def _fast_import(repo: Path, stream: list[bytes]) -> str:
    """Feed one commit's fast-import stream (on `_SCRATCH_REF`) to git; return the commit.

    fast-import runs in a scratch repository of this run's own (under `.git/toolkit/`) that
    borrows the repository's objects: the ref it writes, the pack being written and any crash
    report stay there, so a run killed at any moment leaves nothing in the repository itself.
    Only the finished objects are moved in, unreferenced until a caller moves a ref to them.
    """
    stream.append(b"done\n")
    common, objects = _directories(repo)
    with owned.owned_directory(common / "toolkit", SCRATCH_PREFIX) as scratch:
        bare = scratch / "repo"
        _git(repo, "init", "--quiet", "--bare", "--template=", str(bare))
        (bare / "objects" / "info").mkdir(parents=True, exist_ok=True)
        (bare / "objects" / "info" / "alternates").write_text(f"{objects}\n")
        scratch_env = {"GIT_DIR": str(bare)}
        _git(
            bare,
            "fast-import",
            "--quiet",
            "--done",
            "--force",
            "--date-format=now",
            input=b"".join(stream),
            env=scratch_env,
        )
        commit = _text(_git(bare, "rev-parse", "--verify", _SCRATCH_REF, env=scratch_env))
        _adopt_objects(bare / "objects", objects)
    return commit


def _adopt_objects(source: Path, objects: Path) -> None:
    """Move the finished objects of a scratch repository into `objects`: loose objects, and
    whole packs (the index last, since git sees a pack by its index); temporary files stay."""
    for directory in sorted(source.glob("[0-9a-f][0-9a-f]")):
        (objects / directory.name).mkdir(exist_ok=True)
        for loose in directory.iterdir():
            if not loose.name.startswith("tmp"):
                os.replace(loose, objects / directory.name / loose.name)
    for index in sorted((source / "pack").glob("pack-*.idx")):
        for suffix in (".pack", ".rev", ".idx"):
            part = index.with_suffix(suffix)
            if part.exists():
                os.replace(part, objects / "pack" / part.name)


def remove_abandoned(repo: Path) -> None:
    """What runs that died left in the repository: their scratch repositories (finished objects
    are kept, as a live run would have kept them) and their temporary worktrees."""
    common, objects = _directories(repo)
    with owned.abandoned(common / "toolkit", SCRATCH_PREFIX) as scratches:
        for scratch in scratches:
            with contextlib.suppress(OSError):
                _adopt_objects(scratch / "repo" / "objects", objects)
            shutil.rmtree(scratch, ignore_errors=True)
    owned.remove_abandoned(Path(tempfile.gettempdir()), WORKTREE_PREFIX)
    if (common / "worktrees").is_dir():
        _git(repo, "worktree", "prune", check=False)


def write_commit(
    repo: Path,
    *,
    parent: str | None,
    message: str,
    author: Identity,
    committer: Identity,
    delete: Sequence[str],
    files: Mapping[str, bytes],
    executable: Collection[str] = (),
) -> str:
    """Write one commit with fast-import: `parent`'s tree, less `delete`, plus `files` (those in
    `executable` with mode 100755); no ref moves (the caller moves one, compare-and-swap).

    Nothing is checked out and the index is untouched; the blobs go into one pack in one process.
    """
    when = "now"
    stream = [
        f"commit {_SCRATCH_REF}\n".encode(),
        _person("author", author, when),
        _person("committer", committer, when),
        _data(message.encode()),
    ]
    if parent:
        stream.append(f"from {_object_ids(parent)[0]}\n".encode())
    stream.extend(f"D {_stream_path(path)}\n".encode() for path in delete)
    for path in sorted(files):
        mode = "100755" if path in executable else "100644"
        stream.append(f"M {mode} inline {_stream_path(path)}\n".encode())
        stream.append(_data(files[path]))
    return _fast_import(repo, stream)


def _expected(sha: str | None) -> str:
    """An object name for update-ref; None is the null name ("the ref does not exist")."""
    return _object_ids(sha)[0] if sha is not None else "0" * 40


def update_ref(repo: Path, ref: str, new: str, old: str | None) -> bool:
    """Move `ref` to `new` only if it still points at `old` (None: only if it does not exist)."""
    output = _git(
        repo,
        "update-ref",
        "--end-of-options",
        _ref_name(ref),
        _expected(new),
        _expected(old),
        check=False,
    )
    return output.returncode == 0


# --- ref names ----------------------------------------------------------------------------

_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def branch_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid git branch name (git check-ref-format), or None."""
    components = name.split("/")
    checks = (
        (not name, "it is empty"),
        (name.startswith("-"), "it starts with '-'"),
        (name in ("HEAD", "@"), f"'{name}' is reserved"),
        (
            bool(_REF_FORBIDDEN.search(name)),
            "it contains a space, control character, '..', '//', '@{' or one of ~^:?*[\\",
        ),
        (name.startswith("/") or name.endswith(("/", ".")), "it starts or ends with '/' or '.'"),
        (
            any(part.startswith(".") or part.endswith(".lock") for part in components),
            "a part starts with '.' or ends with '.lock'",
        ),
    )
    return next((problem for failed, problem in checks if failed), None)


def _ref_name(ref: str) -> str:
    """`ref`, checked to be a full ref name git would accept, before it reaches git."""
    problem = (
        branch_name_problem(ref.removeprefix("refs/"))
        if ref.startswith("refs/")
        else "it does not start with refs/"
    )
    if problem:
        raise GitError(f"{ref!r} is not a usable ref name ({problem})")
    return ref


# --- identities ---------------------------------------------------------------------------

_PERSON = re.compile(r"\s*([^<>]*?)\s*<([^<>\s]*)>\s*")


def parse_identity(text: str, *, what: str) -> Identity:
    """``Name <email>`` as given on the command line; an InputError for anything else."""
    match = _PERSON.fullmatch(text)
    if not match or not match.group(1) or not match.group(2):
        raise InputError(
            f'{what} "{text}" is not "Name <email>"; write e.g. "CI Bot <ci@example.com>"'
        )
    return Identity(match.group(1), match.group(2))


# --- history ------------------------------------------------------------------------------


def is_shallow(repo: Path) -> bool:
    """Whether the clone is shallow (history cut off, as in a CI checkout with depth 1)."""
    return _text(_git(repo, "rev-parse", "--is-shallow-repository")) == "true"


def has_commit(repo: Path, sha: str) -> bool:
    """Whether the commit `sha` is in the local object store."""
    (sha,) = _object_ids(sha)
    output = _git(repo, "cat-file", "-e", "--end-of-options", f"{sha}^{{commit}}", check=False)
    return output.returncode == 0


def object_types(repo: Path, shas: Sequence[str]) -> dict[str, str | None]:
    """What each object is (commit, tree, blob, tag), or None where it is not here; from one
    `git cat-file --batch-check`."""
    if not shas:
        return {}
    lines = "".join(f"{sha}\n" for sha in _object_ids(*shas)).encode()
    output = _git(repo, "cat-file", "--batch-check=%(objecttype)", input=lines)
    answers = output.stdout.decode().splitlines()
    return {
        sha: None if answer.endswith(" missing") else answer
        for sha, answer in zip(shas, answers, strict=True)
    }


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    """Whether `ancestor` is reachable from `descendant` (a commit is its own ancestor).

    In a shallow clone a False may only mean the history is cut off: callers deepen first.
    """
    output = _git(
        repo,
        "merge-base",
        "--is-ancestor",
        "--end-of-options",
        *_object_ids(ancestor, descendant),
        check=False,
    )
    if output.returncode not in (0, 1):
        raise GitError(f"git could not compare {ancestor} and {descendant}:\n{output.describe()}")
    return output.returncode == 0


def fetch_commits(repo: Path, remote: str, shas: Sequence[str]) -> None:
    """Fetch commits by name (and the history leading to them) without touching any ref."""
    _git_remote(
        repo,
        remote,
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--end-of-options",
        remote,
        *_object_ids(*shas),
    )


def unshallow(repo: Path, remote: str) -> None:
    """Fetch the whole history of a shallow clone, so ancestry questions get true answers."""
    _git_remote(
        repo, remote, "fetch", "--quiet", "--no-tags", "--unshallow", "--end-of-options", remote
    )


# --- remotes ------------------------------------------------------------------------------


def remote_refs(repo: Path, remote: str, patterns: Sequence[str]) -> dict[str, str]:
    """The remote's refs matching `patterns` (ls-remote), by full name."""
    output = _git_remote(repo, remote, "ls-remote", "--refs", "--end-of-options", remote, *patterns)
    refs = {}
    for line in output.stdout.decode().splitlines():
        sha, _, name = line.partition("\t")
        refs[name] = sha
    return refs


@dataclass(frozen=True)
class RefStatus:
    """One line of ``git push --porcelain``: the flag git printed and its summary."""

    ref: str
    flag: str
    summary: str

    @property
    def ok(self) -> bool:
        return self.flag in (" ", "*", "=", "+", "-")


@dataclass(frozen=True)
class PushResult:
    """What the remote said about each ref of one push, and git's stderr (hook output)."""

    statuses: tuple[RefStatus, ...]
    returncode: int
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and all(s.ok for s in self.statuses)


def push(repo: Path, remote: str, refspecs: Sequence[str]) -> PushResult:
    """Push explicit ``sha:refs/...`` refspecs all-or-nothing (--atomic), never forced.

    A rejected push is a result, not an exception: the caller decides whether to retry.
    """
    output = _git_remote(
        repo,
        remote,
        "push",
        "--porcelain",
        "--atomic",
        "--end-of-options",
        remote,
        *refspecs,
        check=False,
    )
    statuses = []
    for line in output.stdout.decode(errors="replace").splitlines():
        # "<flag>\t<from>:<to>\t<summary>"; the "To <url>" and "Done" lines have no tab.
        parts = line.split("\t")
        if len(parts) >= 3 and len(parts[0]) == 1:
            statuses.append(RefStatus(parts[1].rpartition(":")[2], parts[0], parts[2]))
    stderr = output.stderr.decode(errors="replace")
    if output.returncode != 0 and not statuses:
        raise GitError(f"git push to {remote} failed:\n{without_credentials(output.describe())}")
    return PushResult(tuple(statuses), output.returncode, stderr)


# --- notes and tags -----------------------------------------------------------------------


def read_note(repo: Path, notes_commit: str, target: str) -> bytes | None:
    """The note on `target` in a notes commit, whatever fan-out git chose for its tree."""
    (target,) = _object_ids(target)
    for path in (target, f"{target[:2]}/{target[2:]}", f"{target[:2]}/{target[2:4]}/{target[4:]}"):
        data = read_blob(repo, notes_commit, path)
        if data is not None:
            return data
    return None


def write_notes(
    repo: Path,
    *,
    parent: str | None,
    committer: Identity,
    message: str,
    notes: Mapping[str, bytes],
) -> str:
    """A notes commit on top of `parent` (fast-import picks the fan-out) setting each note in
    `notes`; no ref moves."""
    stream = [
        f"commit {_SCRATCH_REF}\n".encode(),
        _person("committer", committer, "now"),
        _data(message.encode()),
    ]
    if parent:
        stream.append(f"from {_object_ids(parent)[0]}\n".encode())
    for target in sorted(_object_ids(*notes)):
        stream.append(f"N inline {target}\n".encode())
        stream.append(_data(notes[target]))
    return _fast_import(repo, stream)


def make_tag(repo: Path, *, name: str, target: str, tagger: Identity, message: str) -> str:
    """An annotated tag object (no ref yet: the ref is set once the push, if any, lands)."""
    when = f"{int(time.time())} +0000"
    (target,) = _object_ids(target)
    body = (
        f"object {target}\ntype commit\ntag {name}\n"
        f"tagger {tagger.name} <{tagger.email}> {when}\n\n{message}"
    )
    return _text(_git(repo, "mktag", input=body.encode()))


def ref_names(repo: Path, prefix: str) -> list[str]:
    """Local refs under `prefix` (e.g. ``refs/tags/dev/``), by full name."""
    output = _git(repo, "for-each-ref", "--format=%(refname)", "--end-of-options", prefix)
    return output.stdout.decode().split()


def tag_target(repo: Path, ref: str) -> str | None:
    """The commit a tag (annotated or not) points at, or None."""
    return rev_parse(repo, f"{ref}^{{commit}}")


def update_refs(repo: Path, updates: Sequence[tuple[str, str, str | None]]) -> bool:
    """Move several refs in one transaction, each only if it still holds its expected value
    (None: only if it does not exist). All move or none does; False when one had moved."""
    lines = [
        f"update {_ref_name(ref)} {_expected(new)} {_expected(old)}\n" for ref, new, old in updates
    ]
    output = _git(repo, "update-ref", "--stdin", input="".join(lines).encode(), check=False)
    return output.returncode == 0


def commit_of(repo: Path, rev: str) -> str | None:
    """The commit `rev` names (a branch, tag or sha), or None when it names no commit."""
    return rev_parse(repo, f"{rev}^{{commit}}")


def merge_base(repo: Path, one: str, other: str) -> str | None:
    """The best common ancestor of two commits, or None when they share no history."""
    output = _git(repo, "merge-base", "--end-of-options", one, other, check=False)
    return _text(output) if output.returncode == 0 else None


def default_branch(repo: Path, remote: str = "origin") -> str | None:
    """The remote's default branch as a ref (its HEAD, else <remote>/main), else local main."""
    output = _git(repo, "symbolic-ref", "--quiet", f"refs/remotes/{remote}/HEAD", check=False)
    candidates = [_text(output)] if output.returncode == 0 else []
    candidates += [f"refs/remotes/{remote}/main", "refs/heads/main"]
    return next((ref for ref in candidates if commit_of(repo, ref)), None)


@contextlib.contextmanager
def temporary_worktree(repo: Path, commit: str) -> Iterator[Path]:
    """`commit` checked out (detached) in a new work tree outside `repo`, removed on every exit.

    The finally clause runs on errors and on KeyboardInterrupt alike; the directory is deleted
    and git's record of it pruned even when `git worktree remove` itself fails. A run killed
    outright leaves it to the next run's `remove_abandoned` (the directory is this run's own).
    """
    with owned.owned_directory(Path(tempfile.gettempdir()), WORKTREE_PREFIX) as parent:
        path = parent / "tree"
        try:
            _git(
                repo,
                "worktree",
                "add",
                "--detach",
                "--quiet",
                "--end-of-options",
                str(path),
                commit,
            )
            _check_out_submodules(repo, path, commit)
            yield path
        finally:
            _git(repo, "worktree", "remove", "--force", str(path), check=False)
            shutil.rmtree(path, ignore_errors=True)
            _git(repo, "worktree", "prune", check=False)


def _check_out_submodules(repo: Path, tree: Path, commit: str) -> None:
    """The submodules `commit` records, checked out in its worktree `tree` from the clones of
    them `repo` already holds: no network, and no URL from the commit's .gitmodules. One that
    `repo` never initialized stays empty there, as it is in `repo`'s own work tree."""
    listed = _git(
        tree, "config", "-f", ".gitmodules", "--get-regexp", r"^submodule\..*\.path$", check=False
    )
    overrides, paths = [], []
    for line in (
        listed.stdout.decode(errors="replace").splitlines() if listed.returncode == 0 else ()
    ):
        key, _, path = line.partition(" ")
        name = key.removeprefix("submodule.").removesuffix(".path")
        clone = repo / _text(_git(repo, "rev-parse", "--git-path", f"modules/{name}"))
        if "=" not in name and clone.is_dir():
            overrides += ["-c", f"submodule.{name}.url={clone}"]
            paths.append(path)
    if not paths:
        return
    # The clones are local paths: file transport allowed for this command alone.
    update = ("-c", "protocol.file.allow=always", *overrides, "submodule", "update", "--init")
    output = _git(tree, *update, "--quiet", "--", *paths, check=False)
    if output.returncode != 0:
        raise GitError(
            f"{commit[:12]} records submodules ({', '.join(paths)}) at commits this clone does "
            "not have: fetch them (git submodule update --init, or git fetch in the submodule) "
            f"and run again:\n{output.describe()}"
        )


def read_objects(repo: Path, names: Sequence[str]) -> list[bytes | None]:
    """The content of many blobs (by sha, or `rev:path`), in order, from one `git cat-file
    --batch`; None for a name that is missing or not a blob."""
    if not names:
        return []
    for name in names:  # one name per line: a newline would start another request
        if "\n" in name:
            raise GitError(f"refusing to ask git for {name!r}")
    output = _git(repo, "cat-file", "--batch", input="".join(f"{n}\n" for n in names).encode())
    data, at = output.stdout, 0
    found: list[bytes | None] = []
    for _name in names:
        end = data.index(b"\n", at)
        header = data[at:end].split()
        at = end + 1
        if len(header) != 3:  # "<name> missing"
            found.append(None)
            continue
        size = int(header[2])
        found.append(data[at : at + size] if header[1] == b"blob" else None)
        at += size + 1  # the content is followed by a newline
    return found


def read_blobs(repo: Path, rev: str, paths: Sequence[str]) -> dict[str, bytes | None]:
    """Several files' bytes as committed in `rev` (None where missing), in one git process."""
    return dict(zip(paths, read_objects(repo, [f"{rev}:{path}" for path in paths]), strict=True))


# --- promotion: reading a source revision, committing and tagging the result ---------------

_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}


def show_prefix(repo: Path) -> str:
    """Where `repo` sits inside its work tree ("" at the top, else "sub/dir/")."""
    return _text(_git(repo, "rev-parse", "--show-prefix"))


def work_tree_files(repo: Path, path: str) -> list[str]:
    """Files under `path` (relative to `repo`) that git tracks or would track: ignored ones are
    left out, and so are tracked files deleted from the work tree."""
    output = _git(
        repo,
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
        "--",
        path,
        env=_LITERAL,
    )
    names = {name for name in output.stdout.decode().split("\0") if name}
    return sorted(name for name in names if (repo / name).is_symlink() or (repo / name).exists())


def branch_exists(repo: Path, name: str) -> bool:
    return rev_parse(repo, f"refs/heads/{name}") is not None


def switch_to_new_branch(repo: Path, name: str) -> None:
    """Create branch `name` at HEAD and check it out; uncommitted changes come along."""
    _git(repo, "switch", "--quiet", "--create", name)


_INDEX_PREFIX = "toolkit-index-"
_EXPORT_PREFIX = ".export-"


def directory_tree(repo: Path, path: str) -> str:
    """The tree object of directory ``path`` (relative to ``repo``) as the work tree has it,
    uncommitted changes included, ignored files left out: the id it has, or will have, once
    committed. Its objects are written; HEAD, the index and the work tree are untouched."""
    temporary = Path(tempfile.gettempdir())
    owned.remove_abandoned(temporary, _INDEX_PREFIX)  # the indexes of killed runs
    with owned.owned_directory(temporary, _INDEX_PREFIX) as scratch:
        env = {**_LITERAL, "GIT_INDEX_FILE": str(scratch / "index")}
        _git(repo, "add", "--all", "--", path, env=env)
        prefix = f"{show_prefix(repo)}{path.strip('/')}/"
        return _text(_git(repo, "write-tree", f"--prefix={prefix}", env=env))


def export_tree(repo: Path, tree: str, destination: Path) -> bool:
    """Write the regular files of ``tree`` under ``destination`` (which must not exist yet),
    atomically; False when this clone lacks the tree."""
    (tree,) = _object_ids(tree)
    if object_types(repo, [tree]).get(tree) != "tree":
        return False
    entries = list_tree(repo, tree)
    blobs = read_objects(repo, [entry.sha for entry in entries])
    owned.remove_abandoned(destination.parent, _EXPORT_PREFIX)  # what killed runs left
    with owned.owned_directory(destination.parent, _EXPORT_PREFIX) as scratch:
        staging = scratch / "tree"
        for entry, blob in zip(entries, blobs, strict=True):
            parts = entry.path.split("/")
            if entry.mode not in ("100644", "100755") or blob is None or ".." in parts:
                raise GitError(f"tree {tree} holds {entry.path} ({entry.mode}), not a file")
            target = staging / entry.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob)
            target.chmod(0o755 if entry.mode == "100755" else 0o644)
        try:
            os.replace(staging, destination)
        except OSError:
            if not destination.is_dir():  # another run exported it first: that one is as good
                raise
    return True


def current_branch(repo: Path) -> str | None:
    """The branch HEAD is on (its short name), or None when HEAD is detached."""
    output = _git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return _text(output) if output.returncode == 0 else None


def commit_paths(
    repo: Path, paths: Sequence[str], message: str, *, author: Identity | None = None
) -> str:
    """Commit exactly `paths` (added, changed or deleted) and nothing else that is staged, by
    `author` (else who git says)."""
    env = dict(_LITERAL)
    for role in ("author", "committer"):
        who = author if role == "author" and author else identity(repo, role)
        env[f"GIT_{role.upper()}_NAME"] = who.name
        env[f"GIT_{role.upper()}_EMAIL"] = who.email
    _git(repo, "add", "--all", "--", *paths, env=env)
    _git(
        repo,
        "commit",
        "--quiet",
        "--only",
        "-F",
        "-",
        "--",
        *paths,
        input=message.encode(),
        env=env,
    )
    return head_sha(repo)
