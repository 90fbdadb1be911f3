"""The benchmark: `nox -s bench` (or `python -m benchmarks.run [--small] [--fleet NAME]`;
`--scale` for fleets of growing size, benchmarks/scale.py).

For each fleet (`synthetic`: benchmarks/fleet.py, many small releases; `large`:
benchmarks/largecharts.py, large real-world-shaped charts), generates it in a temporary
directory, commits each environment's releases.lock as a team would, and measures, on this
machine, in one run:

- a serial shell loop of the same `helm template` and `kubectl kustomize` commands into files
  (what a team would otherwise write), against `toolkit hydrate` from cold caches;
- `toolkit hydrate` again with nothing changed, and after one environment's values changed,
  against the cold run;
- toolkit's peak memory: the most that it and its children held at once (sampled, in runs
  of their own that are not timed);
- Kapitan compiling the same Helm releases as targets, cold and with its cache warm, where it
  is installed (`--kapitan PATH`); where it is not, or fails, the table says so (synthetic
  fleet only).

Each time is the median of `--repeat` runs. Prints a table; writes the results as JSON.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import toolkit as toolkit_package
from benchmarks import fleet as fleet_module
from benchmarks import kapitan as kapitan_module
from benchmarks import largecharts, measure
from benchmarks.fleet import Fleet, git
from toolkit import __version__
from toolkit.config import project
from toolkit.infra import process
from toolkit.render import pipeline, rendering, tools
from toolkit.render.cache import RenderCache
from toolkit.render.settings import RenderSettings, ToolChoice


@dataclass(frozen=True)
class Setup:
    fleet: Fleet
    work: Path
    helm: tools.Tool
    kustomize: tools.Tool
    jobs: int
    repeat: int


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def shell_loop(setup: Setup) -> str:
    """The baseline: one `helm template` per release and one `kustomize build` per environment,
    in turn, each into a file."""
    fleet = setup.fleet
    kustomize = shlex.join(setup.kustomize.command)
    out = shlex.quote(str(setup.work / "loop-out"))
    lines = ["set -eu", f"rm -rf {out}"]
    for env in fleet.environments:
        lines.append(f"mkdir -p {out}/{env}")
        for release in (r for r in fleet.releases if r.environment == env):
            values = " ".join(f"-f {path}" for path in release.values)
            lines.append(
                f"{shlex.quote(str(setup.helm.path))} template {release.name} "
                f"charts/{release.chart} --namespace {release.namespace} --include-crds "
                f"{values} --kube-version {fleet.kube_version} "
                f"--api-versions monitoring.coreos.com/v1 > {out}/{env}/{release.name}.yaml"
            )
        lines.append(f"{kustomize} overlays/{env} > {out}/{env}/kustomize.yaml")
    return "\n".join(lines) + "\n"


def lock_fleet(fleet: Fleet, work: Path, message: str = "lock every environment") -> None:
    """Commit each environment's releases.lock (with whatever else changed), as a team does:
    without one, every run resolves the charts afresh and warns."""
    env = {
        "TOOLKIT_CACHE_DIR": str(work / "lock-cache"),
        "PYTHONPATH": str(Path(__file__).parents[1]),
    }
    process.run((sys.executable, "-m", "toolkit", "-C", str(fleet.root), "-q", "lock"), env=env)
    git(fleet.root, "add", "-A")
    git(fleet.root, "commit", "-q", "-m", message)


def run_shell_loop(setup: Setup) -> dict[str, float]:
    script = setup.work / "loop.sh"
    script.write_text(shell_loop(setup))
    seconds, cpu = [], []
    for _ in range(setup.repeat):
        before = measure.children_cpu()
        seconds.append(_timed(lambda: process.run(("bash", str(script)), cwd=setup.fleet.root)))
        cpu.append(measure.children_cpu() - before)
    return {"seconds": _median(seconds), "cpu_s": _median(cpu)}


def toolkit(setup: Setup, cache: Path, *args: str, sampled: bool = False) -> dict[str, Any]:
    """`toolkit hydrate` in a process of its own (see `toolkit_command`)."""
    return toolkit_command(setup, cache, "hydrate", *args, sampled=sampled)


def toolkit_command(setup: Setup, cache: Path, *args: str, sampled: bool = False) -> dict[str, Any]:
    """`toolkit ARGS` in a process of its own (as CI runs it): wall time and CPU time (its own
    and its children's); `sampled`, the peak memory instead (the most that it and its children
    held at once), from a run that is not timed."""
    argv = (
        "-C",
        str(setup.fleet.root),
        "-j",
        str(setup.jobs),
        "--helm",
        str(setup.helm.path),
        "--kustomize",
        str(setup.kustomize.path),
        *args,
    )
    env = {"TOOLKIT_CACHE_DIR": str(cache), "PYTHONPATH": str(Path(__file__).parents[1])}
    usage = measure.run_toolkit(argv, env, sampled=sampled)
    if usage.exit != 0:
        raise SystemExit(f"toolkit {args[0]} failed (exit {usage.exit}):\n{usage.output}")
    if usage.tree_kb is not None:
        return {"peak_mb": usage.tree_kb / 1024}
    return {"seconds": usage.seconds, "cpu_s": usage.cpu_s}


def cold_start(setup: Setup, cache: Path) -> None:
    """No render cache and no rendered branch: what the next hydrate finds on a new machine."""
    shutil.rmtree(cache, ignore_errors=True)
    git(setup.fleet.root, "update-ref", "-d", "refs/heads/rendered")


def run_toolkit(setup: Setup) -> dict[str, Any]:
    root = setup.fleet.root
    cache = setup.work / "toolkit-cache"
    cold = []
    for _ in range(setup.repeat):
        cold_start(setup, cache)
        cold.append(toolkit(setup, cache))
    unchanged = [toolkit(setup, cache) for _ in range(setup.repeat)]
    one_env = []
    for i in range(setup.repeat):
        setup.fleet.change_one_environment(i, f"bench{i}")
        one_env.append(toolkit(setup, cache))
    branch_files = git(root, "ls-tree", "-r", "--name-only", "rendered").splitlines()

    def summary(runs: list[dict[str, float]]) -> dict[str, float]:
        return {key: _median([run[key] for run in runs]) for key in ("seconds", "cpu_s")}

    return {
        "cold": summary(cold),
        "unchanged": summary(unchanged),
        "one_env": summary(one_env),
        "peak_mb": peak_mb(setup, cache),
        "files": len(branch_files),
        "validate": run_validate(setup, cache),
    }


def peak_mb(setup: Setup, cache: Path) -> float:
    """The most memory toolkit and its children held at once in a cold hydrate, one with
    nothing changed and one after an environment changed: each run once more, sampled."""
    cold_start(setup, cache)
    peaks = [toolkit(setup, cache, sampled=True), toolkit(setup, cache, sampled=True)]
    setup.fleet.change_one_environment(setup.repeat, "peak")
    peaks.append(toolkit(setup, cache, sampled=True))
    return float(max(peak["peak_mb"] for peak in peaks))


def run_kapitan(setup: Setup, kapitan: str | None) -> dict[str, Any]:
    if not kapitan:
        return {"error": "not installed"}
    kapitan = str(Path(kapitan).resolve()) if os.sep in kapitan else kapitan
    inventory = setup.work / "kapitan-inventory"
    kapitan_module.write_inventory(setup.fleet, setup.helm.path, inventory)
    cache_home = setup.work / "kapitan-cache"
    output = setup.work / "kapitan-out"
    argv = (
        kapitan,
        "compile",
        "--cache",
        "--inventory-path",
        str(inventory),
        "--output-path",
        str(output),
        "-p",
        str(setup.jobs),
    )
    env = {"XDG_CACHE_HOME": str(cache_home)}

    def compile_all() -> None:
        process.run(argv, cwd=setup.fleet.root, env=env)

    try:
        cold, warm = [], []
        for _ in range(setup.repeat):
            shutil.rmtree(cache_home, ignore_errors=True)
            shutil.rmtree(output, ignore_errors=True)
            cold.append(_timed(compile_all))
        for _ in range(setup.repeat):
            warm.append(_timed(compile_all))
    except process.ProcessError as exc:
        last = exc.output.stderr.decode(errors="replace").strip().splitlines()[-1:]
        return {"error": f"kapitan compile failed: {' '.join(last)[:200]}"}
    files = [p for p in output.rglob("*") if p.is_file()]
    return {"cold": _median(cold), "warm": _median(warm), "files": len(files)}


def run_validate(setup: Setup, cache: Path) -> dict[str, float]:
    """What `toolkit validate` adds to a render: its checks of every resource of the hydrated
    fleet (renders answered by the cache, not timed), in this process, schemas loaded afresh
    each time as a new `toolkit validate` would."""
    from toolkit.validate import report as validation
    from toolkit.validate import schemas

    cfg = project.load_config(setup.fleet.root)
    settings = RenderSettings(ToolChoice(str(setup.helm.path), str(setup.kustomize.path)))
    plan = pipeline.plan_environments(cfg, cfg.environments, settings)
    renders = rendering.render_plan(plan, parallel=setup.jobs, cache=RenderCache(cache / "renders"))
    seconds, cpu = [], []
    for _ in range(setup.repeat):
        for cached in (schemas.shipped_minors, schemas.built_in_groups):
            cached.cache_clear()
        schemas.forget_compiled()
        wall, before = time.perf_counter(), time.process_time()
        validation.check_renders(cfg, renders)
        seconds.append(time.perf_counter() - wall)
        cpu.append(time.process_time() - before)
    resources = sum(len(render.tree.resources) for render in renders)
    return {"seconds": _median(seconds), "cpu_s": _median(cpu), "resources": resources}


def _row(label: str, run: dict[str, float] | None, ratio: str, target: str, met: bool) -> str:
    time = f"{run['seconds']:.2f} s" if run else ""
    cpu = f"{run['cpu_s']:.2f} s" if run else ""
    return f"| {label} | {time} | {cpu} | {ratio} | {target} | {'yes' if met else 'NO'} |"


def table(results: dict[str, Any]) -> str:
    """The measurements and their targets (the large fleet is held to the cold target only)."""
    loop, tk, kap = results["shell_loop"], results["toolkit"], results["kapitan"]
    cold, unchanged, one_env = tk["cold"], tk["unchanged"], tk["one_env"]
    synthetic = results["fleet"]["name"] == "synthetic"
    lines = [
        "| measurement | wall | CPU | ratio (wall) | target | met |",
        "|---|---|---|---|---|---|",
        f"| serial shell loop: helm template, kustomize build | {loop['seconds']:.2f} s "
        f"| {loop['cpu_s']:.2f} s | | | |",
        _row(
            "toolkit hydrate, cold caches",
            cold,
            f"{cold['seconds'] / loop['seconds']:.2f} x loop",
            "<= 0.6 x loop",
            cold["seconds"] <= 0.6 * loop["seconds"],
        ),
        _row(
            "toolkit hydrate, nothing changed",
            unchanged,
            f"{unchanged['seconds'] / cold['seconds']:.3f} x cold",
            "<= 0.05 x cold" if synthetic else "",
            unchanged["seconds"] <= 0.05 * cold["seconds"] or not synthetic,
        ),
        _row(
            "toolkit hydrate, one environment changed",
            one_env,
            f"{one_env['seconds'] / cold['seconds']:.3f} x cold",
            "<= 0.15 x cold" if synthetic else "",
            one_env["seconds"] <= 0.15 * cold["seconds"] or not synthetic,
        ),
        _row(
            f"toolkit validate, the checks of {tk['validate']['resources']} resources",
            tk["validate"],
            f"{tk['validate']['seconds'] / cold['seconds']:.3f} x cold",
            "<= 0.1 x cold",
            tk["validate"]["seconds"] <= 0.1 * cold["seconds"],
        ),
        f"| peak RSS, toolkit and its children at once | {tk['peak_mb']:.0f} MB | | | <= 300 MB "
        f"| {'yes' if tk['peak_mb'] <= 300 else 'NO'} |",
    ]
    if not synthetic:
        pass  # Kapitan is compared on the synthetic fleet
    elif "error" in kap:
        lines.append(f"| Kapitan | {kap['error']} | | | | |")
    else:
        for label, theirs, ours in (("cold", "cold", cold), ("cache warm", "warm", unchanged)):
            ratio = ours["seconds"] / kap[theirs]
            lines.append(
                f"| kapitan compile, Helm releases only, {label} | {kap[theirs]:.2f} s | "
                f"| toolkit {ratio:.2f} x | toolkit < 1 x | {'yes' if ratio < 1 else 'NO'} |"
            )
    return "\n".join(lines)


def _measure(name: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """One fleet generated, locked and measured."""
    if name == "large":
        fleet = largecharts.generate(work / "fleet", environments=args.large_environments)
    else:
        fleet = fleet_module.generate(
            work / "fleet", environments=args.environments, releases=args.releases
        )
    lock_fleet(fleet, work)
    setup = Setup(fleet, work, tools.find_helm(), tools.find_kustomize(), args.jobs, args.repeat)
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            # Other work on the machine moves wall times (not CPU times): say how much.
            "load_average_at_start": os.getloadavg(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "fleet": {
            "name": name,
            "environments": len(fleet.environments),
            "releases_per_environment": len(fleet.releases) // len(fleet.environments),
            "renders": len(fleet.releases) + len(fleet.environments),
        },
        "versions": {
            "toolkit": __version__,
            "helm": setup.helm.version,
            "kustomize": setup.kustomize.version,
        },
        "jobs": args.jobs,
        "repeat": args.repeat,
    }
    results["shell_loop"] = run_shell_loop(setup)
    results["toolkit"] = run_toolkit(setup)
    results["output_mb"] = sum(
        path.stat().st_size for path in (work / "loop-out").rglob("*.yaml")
    ) / (1024 * 1024)
    results["kapitan"] = (
        run_kapitan(setup, args.kapitan) if name == "synthetic" else {"error": "not measured"}
    )
    results["machine"]["load_average_at_end"] = os.getloadavg()
    machine = results["machine"]
    results["table"] = table(results) + (
        f"\n\n{machine['cpus']} CPUs, load average {machine['load_average_at_start'][0]:.1f} at "
        f"the start and {machine['load_average_at_end'][0]:.1f} at the end; "
        f"{results['fleet']['renders']} renders ({results['output_mb']:.0f} MB), "
        f"{results['toolkit']['files']} files on the branch; "
        f"helm {results['versions']['helm']}, kustomize {results['versions']['kustomize']}; "
        f"-j {args.jobs}; medians of {args.repeat} runs."
    )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--small", action="store_true", help="small fleets, each measured once")
    parser.add_argument("--fleet", choices=("synthetic", "large", "both"), default="both")
    parser.add_argument("--environments", type=int, default=20)
    parser.add_argument("--releases", type=int, default=10)
    parser.add_argument("--large-environments", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--kapitan", default=shutil.which("kapitan"), help="kapitan executable")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"))
    parser.add_argument("--scale", action="store_true", help="fleets of growing size (scale.py)")
    parser.add_argument(
        "--scale-fleets", nargs="*", help="with --scale: these fleets, NxM or large"
    )
    parser.add_argument("--full-repeat-renders", type=int, default=300, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.small:
        args.environments, args.releases, args.large_environments, args.repeat = 4, 3, 1, 1
    # pip compiles a package's bytecode when it installs it; a checkout run in place may not
    # (PYTHONDONTWRITEBYTECODE), and recompiling toolkit at every start is not what users run.
    compileall.compile_dir(Path(toolkit_package.__file__).parent, quiet=1)
    if args.scale:
        from benchmarks import scale  # here: it imports this module

        args.json.write_text(json.dumps(scale.main(args), indent=2) + "\n")
        print(f"results: {args.json}")
        return 0
    names = ("synthetic", "large") if args.fleet == "both" else (args.fleet,)
    results = {}
    for name in names:
        with tempfile.TemporaryDirectory(prefix="toolkit-bench-") as temporary:
            results[name] = _measure(name, args, Path(temporary))
        print(f"{name} fleet:\n\n{results[name]['table']}\n", flush=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
