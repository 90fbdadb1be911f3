"""Faults and hostile input, each test named after the case it holds: secrets where a Secret's
data can hide, markup in resource names, hostile templates, and runs killed at any moment."""

from __future__ import annotations

import base64
import contextlib
import functools
import html.parser
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from tests.helpers import Cli, commit_all, counting_bin, git, make_repo, push_to_bare_remote
from toolkit.infra import process
from toolkit.render import tools

# --- secrets ------------------------------------------------------------------------------

ANNOTATION_CANARY = "canary-in-annotation-Hq3"
DATA_CANARY = "canary-in-data-Nw8"
ENVIRONMENT_CANARY = "canary-in-environment-Ld5"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _spelled(canaries: list[str]) -> list[str]:
    """Each canary as itself and as base64, the two ways a Secret carries it."""
    return [form for c in canaries for form in (c, base64.b64encode(c.encode()).decode())]


def _annotated_secret(token: str, *, name: str | None = "credentials", team: str = "a") -> str:
    """A Secret whose last-applied annotation holds the whole object, data included, as
    `kubectl apply` leaves it (and as a chart that copies it from a live cluster renders it)."""
    metadata: dict[str, object] = {"labels": {"team": team}}
    if name is not None:
        metadata["name"] = name
    applied = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata}
    applied["stringData"] = {"token": token}
    metadata_with_annotation = {
        **metadata,
        "annotations": {LAST_APPLIED: json.dumps(applied) + "\n"},
    }
    document = {**applied, "metadata": metadata_with_annotation}
    return json.dumps(document, indent=2) + "\n"  # JSON is YAML: no quoting to get wrong


def _secret_files(token: str, *, team: str = "a") -> dict[str, str]:
    return {
        "toolkit.yaml": "environments:\n  - name: dev\n",
        "overlays/dev/kustomization.yaml": "namespace: app\nresources: [secret.yaml]\n",
        "overlays/dev/secret.yaml": _annotated_secret(token, team=team),
    }


@pytest.fixture
def annotated_secret_repo(tmp_path: Path) -> Path:
    """main holds a Secret with old values; the work tree changes its value and a label, both
    also inside its last-applied annotation."""
    repo = make_repo(tmp_path / "config", _secret_files("old-value-Zt1"), example=False)
    (repo / "overlays/dev/secret.yaml").write_text(_annotated_secret(ANNOTATION_CANARY, team="b"))
    return repo


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_a_secret_value_in_the_last_applied_annotation_is_redacted_in_every_format(
    annotated_secret_repo: Path, run_cli: Cli, tmp_path: Path, fmt: str
) -> None:
    full = tmp_path / f"full.{fmt}"
    result = run_cli(annotated_secret_repo, "diff", "--format", fmt, "--output-full", str(full))
    assert result.exit_code == 0, result.stderr
    for text in (result.stdout, result.stderr, full.read_text()):
        for value in _spelled([ANNOTATION_CANARY, "old-value-Zt1"]):
            assert value not in text
    if fmt == "text":
        # The annotation's structure still shows what changed besides the value.
        assert '"labels":{"team":"b"}' in result.stdout
        redacted = f'"stringData":{{"token":"<redacted: {len(ANNOTATION_CANARY)} bytes>"}}'
        assert redacted in result.stdout


def _nameless_secret_chart(repo: Path, token: str) -> None:
    chart = repo / "charts/leaky"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: leaky\nversion: 0.1.0\n")
    (chart / "templates/secret.yaml").write_text(_annotated_secret(token, name=None))
    (repo / "overlays/dev/releases.yaml").write_text(
        "releases:\n  - name: leaky\n    namespace: app\n    chart: ../../charts/leaky\n"
    )


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_a_secret_without_a_name_fails_without_printing_its_values(
    annotated_secret_repo: Path, run_cli: Cli, fmt: str
) -> None:
    _nameless_secret_chart(annotated_secret_repo, DATA_CANARY)
    result = run_cli(annotated_secret_repo, "diff", "--format", fmt)
    assert result.exit_code == 3
    # One error; before it only the warning `render` prints too (dev has no lock).
    (error,) = [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]
    assert error.startswith("error: the head (work tree) failed to render: ")
    assert "a rendered document (a Secret) lacks metadata.name" in error
    for value in _spelled([DATA_CANARY, ANNOTATION_CANARY]):
        assert value not in result.stdout + result.stderr


def _files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


def _git_objects(repo: Path) -> bytes:
    """Every object in a repository, loose or packed, uncompressed."""
    listed = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
    return process.run(
        ("git", "cat-file", "--batch"), cwd=repo, input=listed.encode() + b"\n"
    ).stdout


def test_a_canary_in_a_secret_annotation_and_the_environment_appears_nowhere(
    annotated_secret_repo: Path,
    run_cli: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every output and every file a run writes is searched. The render cache and the rendered
    branch are the render itself (a hydrated Secret is deployed from the branch), so the
    Secret's own canaries may be there; the environment's may be nowhere."""
    repo = annotated_secret_repo
    monkeypatch.setenv("CI_JOB_TOKEN", ENVIRONMENT_CANARY)
    before = _files(tmp_path)
    outputs = []
    for fmt in ("text", "markdown", "json"):
        full = tmp_path / "out" / f"full.{fmt}"
        outputs.append(run_cli(repo, "diff", "--format", fmt, "--output-full", str(full)))
    _nameless_secret_chart(repo, DATA_CANARY)
    outputs += [run_cli(repo, "diff", "--format", fmt) for fmt in ("text", "markdown", "json")]
    outputs.append(run_cli(repo, "render"))
    assert [r.exit_code for r in outputs] == [0, 0, 0, 3, 3, 3, 3]
    (repo / "overlays/dev/releases.yaml").unlink()
    commit_all(repo, "rotate the credentials")
    outputs.append(run_cli(repo, "hydrate"))
    assert outputs[-1].exit_code == 0, outputs[-1].stderr
    cache = Path(os.environ["TOOLKIT_CACHE_DIR"])
    written = {
        path: data
        for path, data in {**_files(tmp_path), **_files(cache)}.items()
        if before.get(path) != data
        and not any(path.is_relative_to(repo / d) for d in ("charts", "overlays"))  # sources
    }
    assert written, "the runs wrote files"
    rendered_objects = _git_objects(repo)
    for value in _spelled([ENVIRONMENT_CANARY]):
        assert all(value not in r.stdout + r.stderr for r in outputs)
        assert [p for p, data in written.items() if value.encode() in data] == []
        assert value.encode() not in rendered_objects
    for value in _spelled([ANNOTATION_CANARY, DATA_CANARY]):
        assert all(value not in r.stdout + r.stderr for r in outputs)
        leaked = [
            p for p, data in written.items() if value.encode() in data and "renders" not in p.parts
        ]
        assert leaked == []


# --- markdown -----------------------------------------------------------------------------

INJECTED_NAMES = ("x</details><h1>INJECTED</h1>", "y\n\n<h1>INJECTED</h1>", "z`<h1>INJECTED</h1>`")
# What the comment is built of; any other element came from a name.
COMMENT_ELEMENTS = {"h2", "h4", "p", "code", "pre", "table", "thead", "tbody", "tr", "th", "td"}
COMMENT_ELEMENTS |= {"details", "summary", "ul", "li"}


class _Elements(html.parser.HTMLParser):
    """The elements of rendered HTML, and the text found outside <code> and <pre>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.open_code = 0
        self.outside_code: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.open_code += tag in ("code", "pre")

    def handle_endtag(self, tag: str) -> None:
        self.tags.append(f"/{tag}")
        self.open_code -= tag in ("code", "pre")

    def handle_data(self, data: str) -> None:
        if not self.open_code:
            self.outside_code.append(data)


def test_a_resource_named_to_close_details_and_open_html_stays_inside_code_spans(
    tmp_path: Path, run_cli: Cli
) -> None:
    configmaps = "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {json.dumps(name)}\n"
        for name in INJECTED_NAMES
    )
    files = {
        "toolkit.yaml": "environments:\n  - name: dev\n",
        "overlays/dev/kustomization.yaml": "resources: [config.yaml]\n",
        "overlays/dev/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
    }
    repo = make_repo(tmp_path / "config", files, example=False)
    (repo / "overlays/dev/config.yaml").write_text(configmaps)

    result = run_cli(repo, "diff", "--format", "markdown")

    assert result.exit_code == 0, result.stderr
    # GitHub renders comments with cmark-gfm and then filters the HTML; unsafe mode shows
    # what would reach that filter.
    rendered = cmarkgfm.github_flavored_markdown_to_html(
        result.stdout, options=Options.CMARK_OPT_UNSAFE
    )
    elements = _Elements()
    elements.feed(rendered)
    assert {tag.lstrip("/") for tag in elements.tags} <= COMMENT_ELEMENTS
    assert elements.tags.count("details") == elements.tags.count("/details") == 1
    assert "INJECTED" not in "".join(elements.outside_code)
    # Each name is still shown: in the list, the heading, and the diff (header and body).
    assert rendered.count("INJECTED") == 4 * len(INJECTED_NAMES)


# --- template limits ----------------------------------------------------------------------

TINY_CHART = {
    "charts/tiny/Chart.yaml": "apiVersion: v2\nname: tiny\nversion: 0.1.0\n",
    "charts/tiny/templates/config.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tiny\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n"
    ),
}
HOSTILE_TEMPLATES = {
    "nested loops": (
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        "ran longer than 10 s of CPU time (the limit)",
    ),
    "a string repeated 10**10 times": ("{{ 'x' * 10**10 }}", "repeats a value to"),
    "a recursive macro": (
        "{% macro down(n) %}{{ down(n + 1) }}{% endmacro %}{{ down(0) }}",
        "calls nest deeper than 100 levels (the limit)",
    ),
    "100 MB of output": (
        "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
        "output passes 10 MiB (the limit)",
    ),
}
SLOW_TEMPLATES = {"nested loops"}


def _template_cases() -> list[object]:
    return [
        pytest.param(
            where,
            case,
            marks=[pytest.mark.slow] if case in SLOW_TEMPLATES else [],
            id=f"{where}-{case}",
        )
        for where in ("values", "message")
        for case in HOSTILE_TEMPLATES
    ]


@pytest.mark.parametrize(("where", "case"), _template_cases())
def test_a_hostile_template_is_one_error_line_naming_its_file(
    tmp_path: Path, run_cli: Cli, where: str, case: str
) -> None:
    template, message = HOSTILE_TEMPLATES[case]
    files = {
        **TINY_CHART,
        "overlays/dev/releases.yaml": (
            "releases:\n  - name: tiny\n    namespace: app\n    chart: ../../charts/tiny\n"
            "    values: [values/greeting.yaml.j2]\n"
        ),
        "overlays/dev/values/greeting.yaml.j2": "greeting: hello\n",
        "toolkit.yaml": "environments:\n  - name: dev\n",
    }
    if where == "values":
        files["overlays/dev/values/greeting.yaml.j2"] = f"greeting: {template}\n"
        named, expected = "error: overlays/dev/values/greeting.yaml.j2", f"template {message}"
    else:
        files["toolkit.yaml"] += f"rendered:\n  message: |\n    {template}\n"
        named, expected = "error: toolkit.yaml:4: ", f"rendered.message {message}"
    repo = make_repo(tmp_path / "config", files, example=False)

    result = run_cli(repo, "hydrate")

    assert result.exit_code == 2
    # The one line besides the warning that the release is not locked: no traceback.
    (error,) = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert error.startswith(named)
    assert expected in error
    assert git(repo, "branch", "--list", "rendered") == ""


# --- killed runs --------------------------------------------------------------------------
# A wrapper for git, helm and kustomize counts the processes toolkit starts and, at the N-th,
# SIGKILLs toolkit itself before the child runs; timed kills take the whole process group down
# at seeded random moments. After each kill the next run must succeed and leave exactly what a
# run that was never killed leaves, with nothing half-written for git or the operator to see.

# The wrapped tools' action: kill toolkit as it starts the chosen process.
KILL = """    if [ "$n" = "$(cat "$dir/kill-at" 2>/dev/null)" ]; then
        kill -KILL "$PPID"
        exit 137
    fi"""
KILL_FILES = {
    "toolkit.yaml": (
        "environments:\n  - name: dev\n  - name: prod\npromotion:\n  copy: ['values/common/**']\n"
    ),
    **TINY_CHART,
    **{
        f"overlays/{env}/{name}": text
        for env, tag in (("dev", "2.0"), ("prod", "1.0"))
        for name, text in {
            "kustomization.yaml": (
                f"namespace: {env}\nresources: [web.yaml]\n"
                f"images:\n  - name: web\n    newTag: '{tag}'\n"
            ),
            "web.yaml": (
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
                "spec:\n  containers:\n    - name: web\n      image: web\n"
            ),
            "releases.yaml": (
                "releases:\n  - name: tiny\n    namespace: app\n    chart: ../../charts/tiny\n"
                "    values: [values/common/greeting.yaml, values/common/extra.yaml]\n"
            ),
            "values/common/greeting.yaml": f"greeting: hello {env}\n",
            "values/common/extra.yaml": f"extra: {tag}\n",
        }.items()
    },
}
KILLED_COMMANDS = {
    "hydrate": ["hydrate"],
    "hydrate --push": ["hydrate", "--push"],
    "promote": ["promote", "dev", "prod"],
    "lock": ["lock"],
    "render -o": ["render", "-o", "../out"],
    "diff": ["diff", "--base", "HEAD~1"],
}
# The run after a kill: a promotion the killed run completed leaves DST with uncommitted
# changes, which a plain `promote` refuses (as it would after an uncut run).
NEXT_RUN = {**KILLED_COMMANDS, "promote": ["promote", "dev", "prod", "--allow-dirty"]}
RANDOM_KILLS = 4  # per command: twenty random moments over the five writing commands
# Where the spawns are: render -o's are helm and kustomize (a cold render cache); the others'
# are git's (a warm cache, so that the battery's time goes to git, where their writes are).
COLD_CACHE = {"render -o"}


@dataclass(frozen=True)
class _KillKit:
    """The repository every trial copies, the wrappers, and a render cache warmed by each
    command once."""

    template: Path
    bin: Path
    warm_cache: Path


@pytest.fixture(scope="module")
def kill_kit(
    tmp_path_factory: pytest.TempPathFactory, helm_tool: tools.Tool, kustomize_tool: tools.Tool
) -> _KillKit:
    """Two environments (a Helm release and a kustomization each), both locked, a commit to
    diff against, and a bare remote (`../remote.git`, the same URL in every copy)."""
    from tests.fixtures.promote import write_locks

    base = tmp_path_factory.mktemp("kill-kit")
    template = base / "template"
    repo = make_repo(template / "config", KILL_FILES, example=False)
    write_locks(repo)
    (repo / "overlays/prod/values/common/greeting.yaml").write_text("greeting: hi prod\n")
    commit_all(repo, "lock both environments")
    push_to_bare_remote(repo)
    shared_bin = counting_bin(
        base / "bin",
        trial="FAULT_TRIAL",
        action=KILL,
        helm=helm_tool.path,
        kustomize=kustomize_tool.path,
    )
    kit = _KillKit(template, shared_bin, base / "cache")
    for number, args in enumerate(KILLED_COMMANDS.values()):
        warming = _trial(kit, base / f"warming-{number}", cold=False)
        assert warming.run(args).returncode == 0
    return kit


@dataclass(frozen=True)
class _Trial:
    """One copy of the template, with its own control files and temporary directory."""

    base: Path
    bin: Path
    cache: Path

    @property
    def repo(self) -> Path:
        return self.base / "config"

    def run(
        self, args: list[str], *, kill_at: int | None = None, kill_after: float | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        control = self.base / "control"
        (control / "count").unlink(missing_ok=True)
        (control / "kill-at").unlink(missing_ok=True)
        if kill_at is not None:
            (control / "kill-at").write_text(f"{kill_at}\n")
        env = {
            **os.environ,
            "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
            "FAULT_TRIAL": str(control),  # read by the wrappers above, never by toolkit
            "TOOLKIT_CACHE_DIR": str(self.cache),
            "TMPDIR": str(self.base / "tmp"),
        }
        argv = [
            str(self.bin / "toolkit"),
            "-C",
            str(self.repo),
            "-j",
            "1",
            "--helm",
            str(self.bin / "helm"),
            "--kustomize",
            str(self.bin / "kustomize"),
            *args,
        ]
        # In the repository, as a user runs it: `render -o ../out` lands in this trial's directory.
        child = subprocess.Popen(
            argv,
            cwd=self.repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        if kill_after is not None:
            try:
                out, err = child.communicate(timeout=kill_after)
                return subprocess.CompletedProcess(argv, child.returncode, out, err)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)  # a cancelled job: children die too
        out, err = child.communicate(timeout=120)
        return subprocess.CompletedProcess(argv, child.returncode, out, err)

    def spawns(self) -> int:
        counted = self.base / "control" / "count"
        return int(counted.read_text()) if counted.exists() else 0


def _trial(kit: _KillKit, destination: Path, *, cold: bool, command: str = "") -> _Trial:
    shutil.copytree(kit.template, destination, symlinks=True)
    if command == "lock":  # both locks to write, so that a kill can fall between the two
        for env in ("dev", "prod"):
            (destination / "config" / "overlays" / env / "releases.lock").unlink()
    (destination / "control").mkdir()
    (destination / "tmp").mkdir()
    cache = destination / "cache" if cold else kit.warm_cache
    return _Trial(destination, kit.bin, cache)


def _observed(trial: _Trial, command: str) -> dict[str, object]:
    """What a user or git can see after a run: every file of the work tree and of the -o
    directory, each ref's tree (commit times differ between runs), and anything left over in
    .git or the temporary directory."""
    repo = trial.repo

    def files(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts
        }

    def refs(where: Path) -> dict[str, str]:
        listed = git(where, "for-each-ref", "--format=%(refname) %(objecttype)").splitlines()
        return {
            name: git(where, "rev-parse", f"{name}^{{tree}}") if kind == "commit" else kind
            for name, kind in (line.split() for line in listed)
        }

    leftovers = [
        p.relative_to(trial.base).as_posix()
        for p in [*(repo / ".git").rglob("*"), *(trial.base / "tmp").iterdir()]
        if p.name.startswith(("tmp_", "fast_import_crash", "toolkit-", "scratch-"))
        or p.parent.name == "worktrees"
    ]
    return {
        "work tree": files(repo),
        "status": git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all"),
        "output": files(trial.base / "out") if (trial.base / "out").exists() else None,
        # With --push the remote is the result (a later run that finds nothing to push does
        # not move a local branch it left behind); otherwise the local refs are.
        "refs": refs(trial.base / "remote.git") if "push" in command else refs(repo),
        "leftovers": leftovers,
        "garbage": git(repo, "count-objects", "-v").splitlines()[-2:],
    }


def _battery_cases() -> list[object]:
    return [pytest.param(c, marks=pytest.mark.slow, id=c) for c in KILLED_COMMANDS]


@pytest.mark.parametrize("command", _battery_cases())
def test_a_run_killed_at_any_spawn_or_moment_is_survived_by_the_next_run(
    kill_kit: _KillKit, tmp_path: Path, command: str
) -> None:
    args = KILLED_COMMANDS[command]
    make = functools.partial(_trial, kill_kit, cold=command in COLD_CACHE, command=command)
    reference = make(tmp_path / "reference")
    started = time.monotonic()
    done = reference.run(args)
    duration = time.monotonic() - started
    assert done.returncode == 0, done.stderr.decode()
    expected = _observed(reference, command)
    spawns = reference.spawns()
    rng = random.Random(f"{command} 13")  # seeded: a failure is reproducible
    kills: list[dict[str, float]] = [{"kill_at": n} for n in range(1, spawns + 1)]
    kills += [{"kill_after": rng.uniform(0.05, duration)} for _ in range(RANDOM_KILLS)]
    failures = []
    for number, kill in enumerate(kills):
        trial = make(tmp_path / f"trial-{number}")
        killed = trial.run(args, **kill)  # type: ignore[arg-type]
        after = trial.run(NEXT_RUN[command])
        observed = _observed(trial, command)
        same_report = command != "diff" or after.stdout == done.stdout  # a diff's result
        if after.returncode != 0 or observed != expected or not same_report:
            differing = [k for k in expected if observed[k] != expected[k]]
            failures.append(
                f"{kill} (killed run exit {killed.returncode}): next run exit "
                f"{after.returncode} {after.stderr.decode()[-300:]!r}; differs in {differing}"
                f" (left over: {observed['leftovers']})"
            )
        shutil.rmtree(trial.base)
    assert failures == []


DIES_HOLDING = """
import os, sys
from pathlib import Path
from toolkit.infra import owned
held = [owned.owned_directory(Path(p), x) for p, x in zip(sys.argv[1::2], sys.argv[2::2])]
for directory in held:
    directory.__enter__()
os._exit(0)  # no cleanup runs: the directories stay, their locks go with the process
"""


def test_what_dead_runs_left_is_removed_and_what_live_runs_hold_is_not(
    tmp_path: Path, run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fixtures.ci import TINY_FILES
    from toolkit.infra import git as gitmod
    from toolkit.infra import owned

    repo = make_repo(tmp_path / "config", TINY_FILES, example=False)
    commit_all(repo, "a second commit to diff against")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    scratches = repo / ".git" / "toolkit"
    places = [(scratches, gitmod.SCRATCH_PREFIX), (temporary, gitmod.WORKTREE_PREFIX)]
    process.run((sys.executable, "-c", DIES_HOLDING, *(str(a) for place in places for a in place)))
    dead = sorted([*scratches.iterdir(), *temporary.iterdir()])
    assert len(dead) == 2
    with contextlib.ExitStack() as stack:
        live = [stack.enter_context(owned.owned_directory(*place)) for place in places]
        assert run_cli(repo, "hydrate").exit_code == 0
        assert run_cli(repo, "diff", "--base", "HEAD~1").exit_code == 0
        assert all(path.is_dir() for path in live)
        assert not any(path.exists() for path in dead)
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1


KILLS_ITSELF_AT_A_RENAME = """
import os, signal, sys
from toolkit import cli
calls = 0
real_replace, real_link = os.replace, os.link
def counted(real):
    def call(*args, **kwargs):
        global calls
        calls += 1
        if calls == int(sys.argv[1]):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return call
os.replace, os.link = counted(real_replace), counted(real_link)
cli.main(sys.argv[2:])
"""


@pytest.mark.slow
@pytest.mark.parametrize("command", ["promote", "lock"])
def test_a_write_killed_between_any_two_renames_is_put_back_by_the_next_run(
    kill_kit: _KillKit, tmp_path: Path, command: str
) -> None:
    """The moments a timed kill rarely hits: this process kills itself at its k-th rename (or
    hard link) of the write set, for every k."""
    args = KILLED_COMMANDS[command]
    reference = _trial(kill_kit, tmp_path / "reference", cold=False, command=command)
    assert reference.run(args).returncode == 0
    expected = _observed(reference, command)
    for k in range(1, 30):
        trial = _trial(kill_kit, tmp_path / f"trial-{k}", cold=False, command=command)
        tools_used = [
            "--helm",
            str(trial.bin / "helm"),
            "--kustomize",
            str(trial.bin / "kustomize"),
        ]
        killed = subprocess.run(
            [
                sys.executable,
                "-c",
                KILLS_ITSELF_AT_A_RENAME,
                str(k),
                "-C",
                str(trial.repo),
                *tools_used,
                *args,
            ],
            env={**os.environ, "TOOLKIT_CACHE_DIR": str(trial.cache)},
            capture_output=True,
        )
        if killed.returncode == 0:
            break  # the write set has fewer renames than k: every one was tried
        after = trial.run(NEXT_RUN[command])
        assert after.returncode == 0, after.stderr.decode()
        assert _observed(trial, command) == expected, f"killed at rename {k}"
        shutil.rmtree(trial.base)
    else:
        pytest.fail("the write set was never completed")
