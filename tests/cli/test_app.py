"""The group starts light: defining the commands imports none of what they run, so that
`toolkit --help`, a completion and every command's start cost only the modules that command
uses (what a hydrate with nothing to do costs is mostly its start)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.helpers import Cli, commit_all
from toolkit import cli
from toolkit.infra import process
from toolkit.render import tools

# What each command imports once it runs: no definition of a command may need them.
HEAVY = (
    "toolkit.commands",
    "toolkit.promote",
    "toolkit.diff",
    "toolkit.validate",
    "toolkit.hydrate",
    "toolkit.render",
    "toolkit.charts",
    "toolkit.manifests",
    "toolkit.config",
    "jinja2",
    "yaml",
    "jsonschema_rs",
    "kubernetes_validate",
    "rich",
)
# Runs the command line with the arguments given, then prints the modules it had loaded.
PROBE = """
import json, sys
from toolkit.cli import main
try:
    main(sys.argv[1:], prog_name="toolkit")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _loaded(where: Path, *args: str, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """What a fresh interpreter running `toolkit ARGS` in `where` printed (both streams but
    the last line), and every module it loaded."""
    output = process.run((sys.executable, "-c", PROBE, *args), cwd=where, env=env)
    *printed, modules = output.stderr.decode().splitlines()
    return output.stdout.decode() + "\n".join(printed), json.loads(modules)


def _in(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(f"{p}.") for p in packages)]


def _run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """What a fresh interpreter running `toolkit ARGS` printed, and the heavy modules it
    loaded."""
    printed, modules = _loaded(tmp_path, *args, env=env)
    return printed, _in(modules, HEAVY)


@pytest.mark.parametrize(
    "args",
    [("--help",), ("hydrate", "--help"), ("lock", "--help"), ("completion", "bash")],
    ids=" ".join,
)
def test_defining_the_commands_imports_none_of_what_they_run(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    printed, heavy = _run(tmp_path, *args)
    assert printed  # the help, or the script
    assert heavy == []


def test_completing_a_command_name_imports_none_of_what_the_commands_run(tmp_path: Path) -> None:
    env = {"_TOOLKIT_COMPLETE": "bash_complete", "COMP_WORDS": "toolkit hy", "COMP_CWORD": "1"}
    printed, heavy = _run(tmp_path, env=env)
    assert printed.split() == ["plain,hydrate"]
    assert heavy == []


def test_diff_options_made_on_first_use_check_and_complete_as_any_other() -> None:
    """diff's --no-fold and --max-bytes take their choices, range and default from the diff
    package when diff is first parsed, shown in its help where they always stood."""
    from toolkit.diff import comment, noise

    runner = CliRunner()
    shown = runner.invoke(cli.main, ["diff", "--help"], prog_name="toolkit").stdout
    options = [line.split()[0] for line in shown.splitlines() if line.startswith("  --")]
    at = options.index("--exit-code")
    assert options[at : at + 5] == [
        "--exit-code",
        "--no-fold",
        "--strict",
        "--max-bytes",
        "--output-full",
    ]
    assert f"--no-fold [{'|'.join(noise.RULES)}]" in shown
    assert f"[default: {comment.DEFAULT_MAX_BYTES}; x>={comment.MIN_MAX_BYTES}]" in shown

    too_small = runner.invoke(cli.main, ["diff", "--max-bytes", str(comment.MIN_MAX_BYTES - 1)])
    assert too_small.exit_code == 2
    assert "Invalid value for '--max-bytes'" in too_small.stderr

    env = {
        "_TOOLKIT_COMPLETE": "bash_complete",
        "COMP_WORDS": "toolkit diff --no-fold ",
        "COMP_CWORD": "3",
    }
    completed = runner.invoke(cli.main, [], prog_name="toolkit", env=env)
    assert completed.stdout.split() == [f"plain,{rule}" for rule in noise.RULES]


# Runs the command line with the arguments given, then prints the commands that have been given
# the global options (-C, -v, --helm...) after their name.
OPTIONS_PROBE = """
import sys
from toolkit.cli import main
try:
    main(sys.argv[1:], prog_name="toolkit")
except SystemExit:
    pass
given = [n for n, c in main.commands.items() if any(p.name == "verbose" for p in c.params)]
print(" ".join(sorted(given)), file=sys.stderr)
"""


def _given_global_options(where: Path, *args: str) -> tuple[str, list[str]]:
    output = process.run((sys.executable, "-c", OPTIONS_PROBE, *args), cwd=where)
    *printed, given = output.stderr.decode().splitlines()
    return output.stdout.decode() + "\n".join(printed), given.split()


def test_a_run_makes_the_global_options_of_its_own_command_only(tmp_path: Path) -> None:
    """Ten options for each of fourteen commands and their subcommands were some 200 objects
    made at every start, for the one command that runs."""
    printed, given = _given_global_options(tmp_path, "lock", "-v", "--help")
    assert "Usage: toolkit lock" in printed
    assert "The global options (toolkit --help) go here too." in printed
    assert given == ["lock"]

    printed, given = _given_global_options(tmp_path, "tools", "status", "--help")
    assert "Usage: toolkit tools status" in printed
    assert "The global options (toolkit --help) go here too." in printed  # a group's, with it
    assert given == ["tools"]

    printed, given = _given_global_options(tmp_path, "--help")
    assert "hydrate" in printed
    assert "completion" not in given and "hydrate" in given  # listing them looks them all up


@pytest.fixture
def hydrated(example_repo: Path, run_cli: Cli) -> Path:
    """The example repository, hydrated once (the tools' answers remembered from then)."""
    assert run_cli(example_repo, "hydrate").exit_code == 0
    return example_repo


def _hydrate_loads(repo: Path, helm: tools.Tool, kustomize: tools.Tool) -> tuple[str, list[str]]:
    """What `toolkit hydrate` in a fresh interpreter printed, and the modules it loaded."""
    return _loaded(repo, "--helm", str(helm.path), "--kustomize", str(kustomize.path), "hydrate")


def test_a_hydrate_with_nothing_to_do_loads_nothing_that_renders(
    hydrated: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool
) -> None:
    """Its cost is mostly its start: no chart sources, renderers, manifests model or message
    templates, no thread pool or logging (the tools' versions are remembered, so nothing
    probes them side by side), no YAML parser (toolkit.yaml is remembered by content), and
    nothing that plans, pushes, commits, writes trees or completes: each class they define
    costs its start."""
    printed, modules = _hydrate_loads(hydrated, helm_tool, kustomize_tool)

    assert "rendered: nothing to commit" in printed
    not_needed = (
        "toolkit.charts",
        "toolkit.manifests",
        "toolkit.render.jobs",
        "toolkit.render.runs",
        "toolkit.render.rendering",
        "toolkit.config.releases",
        "toolkit.config.access",
        "jinja2",
        "concurrent.futures",
        "logging",
        "yaml",
        "toolkit.infra.kubeyaml",
        "toolkit.infra.git.remotes",
        "toolkit.infra.git.trees",
        "toolkit.infra.git.identities",
        "toolkit.config.toolpins",
        "toolkit.hydrate.releaserecords",
        "click.shell_completion",
    )
    assert _in(modules, not_needed) == []


def test_a_hydrate_of_local_charts_loads_no_network_client(
    hydrated: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool
) -> None:
    """The example's charts are all in the repository: rendering one changed environment
    loads neither the chart repositories' and registries' clients nor the credential reader."""
    values = hydrated / "overlays" / "dev" / "values" / "api.yaml"
    values.write_text(values.read_text() + "podLabels: {changed: 'yes'}\n")
    commit_all(hydrated, "dev: a label")

    printed, modules = _hydrate_loads(hydrated, helm_tool, kustomize_tool)

    assert "rendered: committed" in printed
    remote = (
        "toolkit.infra.http",
        "toolkit.charts.credentials",
        "toolkit.charts.reposource",
        "toolkit.charts.ocisource",
        "toolkit.charts.oci",
        "toolkit.charts.index",
        "socket",
        "tarfile",
    )
    assert _in(modules, remote) == []


# Runs `toolkit ARGS` as the installed command does, then prints how many times the garbage
# collector looked for cycles once `main` had begun (importing its module takes a few young ones).
COUNTING_PROBE = """
import gc, sys
collections = []
gc.callbacks.append(lambda phase, info: collections.append(phase) if phase == "start" else None)
sys.argv = ["toolkit", *sys.argv[1:]]
from toolkit.__main__ import main
before = len(collections)
try:
    main()
except SystemExit:
    pass
print(len(collections) - before, file=sys.stderr)
"""


def test_a_hydrate_with_nothing_to_do_never_stops_to_collect_garbage(
    hydrated: Path, helm_tool: tools.Tool, kustomize_tool: tools.Tool
) -> None:
    """The start makes tens of thousands of objects that live to the end: with Python's
    default threshold the collector stopped some thirty times to walk them, for nothing."""
    args = ("--helm", str(helm_tool.path), "--kustomize", str(kustomize_tool.path), "hydrate")
    output = process.run((sys.executable, "-c", COUNTING_PROBE, *args), cwd=hydrated)
    *printed, collections = output.stderr.decode().splitlines()

    assert "rendered: nothing to commit" in "\n".join(printed)
    assert int(collections) == 0
