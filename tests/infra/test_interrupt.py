"""toolkit.infra.interrupt, through a real `toolkit` process: Ctrl-C (SIGINT) or a cancelled CI
job's SIGTERM, at any moment, ends every child process, leaves nothing behind (temporary
worktrees and files, locks) and says so in one line with exit code 130."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import PROJECT, commit_all, counting_bin, git, make_repo, push_to_bare_remote
from toolkit.infra import interrupt
from toolkit.render import tools

# A wrapper for git, helm and kustomize that counts the processes toolkit itself starts; at the
# one the test picks (by number, or the first with a given subcommand) it stops where it is
# (helm with its values on stdin unread) and waits to be ended, as a hung tool would: if
# toolkit did not end it, it would outlive toolkit.
# The wrapped tools' action: stand still at the chosen process (or the first of a tool), so the
# trial can interrupt toolkit there.
STOP = """    if [ "$n" = "$(cat "$dir/stop-at" 2>/dev/null)" ] ||
        { [ "$1" = "$(cat "$dir/stop-on" 2>/dev/null)" ] && mkdir "$dir/first" 2>/dev/null; }; then
        echo "$*" > "$dir/stopped"
        while :; do sleep 0.05; done
    fi"""
COMMANDS = {
    "diff": ["--no-cache", "diff", "--base", "HEAD~1"],
    "hydrate": ["--no-cache", "hydrate"],
    "hydrate --push": ["--no-cache", "hydrate", "--push"],
    "render -o": ["--no-cache", "render", "-o", "../out"],
}
TRIALS = 50  # the bar: 50 interruptions out of 50 clean
LEFTOVER_NAMES = (".tmp-", "tmp_", ".download-", "toolkit-", "scratch-")


@dataclass(frozen=True)
class Kit:
    """The repository every trial copies (with a commit to diff against and a bare remote),
    and the wrappers."""

    template: Path
    bin: Path


@pytest.fixture(scope="module")
def kit(
    tmp_path_factory: pytest.TempPathFactory, helm_tool: tools.Tool, kustomize_tool: tools.Tool
) -> Kit:
    base = tmp_path_factory.mktemp("interrupt-kit")
    template = base / "template"
    repo = make_repo(template / "config")
    values = repo / "overlays/staging/releases.yaml"
    values.write_text(values.read_text().replace("replicaCount: 2", "replicaCount: 3"))
    commit_all(repo, "a change to diff")
    push_to_bare_remote(repo)
    shared_bin = counting_bin(
        base / "bin",
        trial="INTERRUPT_TRIAL",
        action=STOP,
        helm=helm_tool.path,
        kustomize=kustomize_tool.path,
    )
    return Kit(template, shared_bin)


@dataclass(frozen=True)
class Run:
    returncode: int
    stderr: str
    survivors: list[str]


class Trial:
    """One copy of the template, with its own control files, temporary directory and cache."""

    def __init__(self, kit: Kit, base: Path) -> None:
        shutil.copytree(kit.template, base, symlinks=True)
        self.base = base
        self.bin = kit.bin
        self.control = base / "control"
        for directory in (self.control, base / "tmp", base / "cache"):
            directory.mkdir()

    @property
    def repo(self) -> Path:
        return self.base / "config"

    def start(
        self, args: list[str], stop_at: int | None, *, stop_on: str | None = None
    ) -> subprocess.Popen[bytes]:
        if stop_at is not None:
            (self.control / "stop-at").write_text(f"{stop_at}\n")
        if stop_on is not None:
            (self.control / "stop-on").write_text(f"{stop_on}\n")
        env = {
            **os.environ,
            "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
            "INTERRUPT_TRIAL": str(self.control),  # every descendant inherits it: see survivors
            "TOOLKIT_CACHE_DIR": str(self.base / "cache"),
            "TMPDIR": str(self.base / "tmp"),
            "PYTHONPATH": str(PROJECT),
        }
        tool_flags = ["--helm", str(self.bin / "helm"), "--kustomize", str(self.bin / "kustomize")]
        argv = [str(self.bin / "toolkit"), "-j", "2", *tool_flags, *args]
        return subprocess.Popen(
            argv,
            cwd=self.repo,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(self.base / "stderr").open("wb"),  # a file: no pipe a survivor could hold
            start_new_session=True,
            # An xdist worker ignores SIGINT, and an ignored signal is inherited: undo that.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )

    def finish(self, proc: subprocess.Popen[bytes]) -> Run:
        try:
            proc.wait(timeout=60)
        finally:
            survivors = self.survivors()
            for pid in survivors:  # whatever happened, nothing of this trial runs on
                _kill(int(pid.split()[0]))
            _kill(proc.pid)
        return Run(proc.returncode, (self.base / "stderr").read_text(), survivors)

    def survivors(self) -> list[str]:
        """Every live process that inherited this trial's environment (a zombie has none)."""
        mark = f"INTERRUPT_TRIAL={self.control}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if mark in (entry / "environ").read_bytes().split(b"\0"):
                    cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                    found.append(f"{entry.name} {cmdline.decode(errors='replace')}")
            except OSError:
                continue
        return found

    def spawns(self) -> int:
        counted = self.control / "count"
        return int(counted.read_text()) if counted.exists() else 0

    def leftovers(self) -> list[str]:
        """Temporary files and directories, locks and worktrees found after the run."""
        places = [self.repo / ".git", self.base / "remote.git", self.base / "cache"]
        found = [p for place in places for p in place.rglob("*")]
        found += list((self.base / "tmp").iterdir())
        return sorted(
            p.relative_to(self.base).as_posix()
            for p in found
            if p.name.endswith(".lock")
            or p.name.startswith(LEFTOVER_NAMES)
            or p.parent.name == "worktrees"
        )


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def _handling(pid: int) -> bool:
    """Whether process `pid` has its SIGTERM handler in place (toolkit is past its start)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))


def _wait_for(condition: object, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition() and proc.poll() is None:  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.005)


@dataclass(frozen=True)
class Moment:
    """When a trial's signal comes: inside the N-th process toolkit starts, or a delay after
    toolkit's handlers are in place."""

    command: str
    signum: signal.Signals
    stop_at: int | None = None
    delay: float = 0.0

    def __str__(self) -> str:
        when = f"in spawn {self.stop_at}" if self.stop_at else f"at {self.delay:.3f}s"
        return f"{self.command} {self.signum.name} {when}"


def _moments(kit: Kit, base: Path) -> Iterator[Moment]:
    """TRIALS moments, spread over the commands: every process each one starts (up to its
    share), then seeded random delays over its uninterrupted duration."""
    rng = random.Random("interrupt 19")  # seeded: a failure is reproducible
    share = TRIALS // len(COMMANDS)
    extra = TRIALS - share * len(COMMANDS)
    signals = [signal.SIGINT, signal.SIGTERM]
    for number, (command, args) in enumerate(COMMANDS.items()):
        reference = Trial(kit, base / f"reference-{number}")
        started = time.monotonic()
        done = reference.finish(reference.start(args, None))
        duration = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        spawns = reference.spawns()
        shutil.rmtree(reference.base)
        count = share + (1 if number < extra else 0)
        # The last spawn always: for diff, the cleanup removing its worktree, which must go on.
        sampled = rng.sample(range(1, spawns), min(spawns - 1, count * 2 // 3 - 1))
        at_spawns = sorted([*sampled, spawns])
        for index, stop_at in enumerate(at_spawns):
            yield Moment(command, signals[index % 2], stop_at=stop_at)
        for index in range(count - len(at_spawns)):
            delay = rng.uniform(0.0, duration * 0.8)
            yield Moment(command, signals[(index + 1) % 2], delay=delay)


def _interrupt(trial: Trial, moment: Moment) -> Run:
    proc = trial.start(COMMANDS[moment.command], moment.stop_at)
    try:
        if moment.stop_at is not None:
            stopped = trial.control / "stopped"
            _wait_for(stopped.exists, proc, f"reached spawn {moment.stop_at}")
        else:
            _wait_for(lambda: _handling(proc.pid), proc, "installed its handlers")
            time.sleep(moment.delay)
        if proc.poll() is None:
            proc.send_signal(moment.signum)
    except BaseException:
        _kill(proc.pid)
        raise
    return trial.finish(proc)


@pytest.mark.slow
def test_an_interruption_at_any_moment_ends_every_child_and_leaves_nothing(
    kit: Kit, tmp_path: Path
) -> None:
    failures = []
    moments = list(_moments(kit, tmp_path))
    assert len(moments) == TRIALS
    for number, moment in enumerate(moments):
        trial = Trial(kit, tmp_path / f"trial-{number}")
        run = _interrupt(trial, moment)
        # A run the signal came too late for finished: then it exits 0, as it would have.
        finished = run.returncode == 0 and moment.stop_at is None
        said = run.stderr.splitlines()[-1:] == ["interrupted"]
        problems = [
            *([] if finished or (run.returncode == interrupt.EXIT_CODE and said) else ["exit"]),
            *(["noise"] if "Traceback" in run.stderr or "Exception ignored" in run.stderr else []),
            *([f"survivors {run.survivors}"] if run.survivors else []),
            *([f"leftovers {trial.leftovers()}"] if trial.leftovers() else []),
            *(["worktrees"] if len(git(trial.repo, "worktree", "list").splitlines()) != 1 else []),
        ]
        if problems:
            failures.append(f"{moment}: exit {run.returncode} {problems} {run.stderr[-300:]!r}")
        shutil.rmtree(trial.base)
    assert failures == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_helm_stopped_with_its_values_unread_ends_with_toolkit(
    kit: Kit, tmp_path: Path, signum: signal.Signals
) -> None:
    """The hang once reported: `--no-cache diff` interrupted while a `helm template --values -`
    waited on its stdin. The helm ends, the base's temporary worktree goes, toolkit exits 130
    at once with one line."""
    trial = Trial(kit, tmp_path / "trial")
    proc = trial.start(COMMANDS["diff"], None, stop_on="template")
    _wait_for((trial.control / "stopped").exists, proc, "ran helm template")
    assert proc.poll() is None
    assert list((trial.base / "tmp").iterdir())  # the base's worktree is there
    proc.send_signal(signum)
    started = time.monotonic()
    run = trial.finish(proc)
    assert time.monotonic() - started < 10
    assert (run.returncode, run.stderr, run.survivors) == (interrupt.EXIT_CODE, "interrupted\n", [])
    assert trial.leftovers() == []
    assert git(trial.repo, "worktree", "list").count("\n") == 0


# A finished run whose interpreter is shutting down (an object freed then sends the signal):
# Python has put its default handlers back by then, so without settle()'s ignoring it the
# finished run would be killed (exit -2) instead of exiting 0.
_SIGNAL_WHILE_SHUTTING_DOWN = """
import os, signal, sys
from toolkit.infra import interrupt
interrupt.install()
class FreedLast:
    def __del__(self):
        os.kill(os.getpid(), signal.SIG{name})
freed_last = FreedLast()
interrupt.settle()
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_after_the_run_is_over_does_not_cut_the_exit_short(
    signum: signal.Signals,
) -> None:
    script = _SIGNAL_WHILE_SHUTTING_DOWN.format(name=signum.name.removeprefix("SIG"))
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        # An xdist worker ignores SIGINT, and an ignored signal is inherited: undo that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        capture_output=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, b"")


# The signal comes while an object is being freed (as a `Popen` is, wherever the last reference
# to it goes): an exception raised in its __del__ would be printed and dropped by Python, and the
# run would go on as if no signal had come. The next process start (a held() block) ends the run;
# one that a failure is unwinding through lets the failure reach the CLI's guard, with the
# cleanups after it done.
_SIGNAL_WHILE_AN_OBJECT_IS_FREED = """
import os, signal
from toolkit.infra import interrupt
interrupt.install()
class Freed:
    def __del__(self):
        os.kill(os.getpid(), signal.SIG{name})
try:
    try:
        Freed()
        if {failing}:
            raise RuntimeError("what waited on an ended child failed")
        with interrupt.held():
            print("started the next process")
        print("went on")
    finally:
        if {failing}:
            with interrupt.held():
                print("cleaned up")
            print("cleaned up after")
except RuntimeError:
    print("failed")
except interrupt.Interrupted:
    print("interrupted")
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize(
    ("failing", "printed"),
    [
        (False, "started the next process\ninterrupted\n"),
        (True, "cleaned up\ncleaned up after\nfailed\n"),
    ],
)
def test_a_signal_while_an_object_is_freed_still_ends_the_run(
    signum: signal.Signals, failing: bool, printed: str
) -> None:
    script = _SIGNAL_WHILE_AN_OBJECT_IS_FREED.format(
        name=signum.name.removeprefix("SIG"), failing=failing
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as above
        capture_output=True,
        check=False,
    )
    assert (done.stdout.decode(), done.stderr) == (printed, b"")
