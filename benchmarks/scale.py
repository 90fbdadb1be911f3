"""`nox -s bench -- --scale` (`python -m benchmarks.run --scale`): the benchmark's measurements
on fleets of growing size, in one run, and how each grows between the smallest and the largest.

Per fleet (synthetic ones of N environments x M releases, benchmarks/fleet.py, and the
large-chart fleet, benchmarks/largecharts.py): the serial shell loop of the same helm and
kustomize commands; `toolkit hydrate` from cold caches; again with nothing changed; after one
environment's values changed; after a shared chart changed (every environment that uses it
renders again); `toolkit diff` of a commit that changes one environment (its base hydrated, as
on a pull request); `toolkit status`; and the peak memory of any of those runs (toolkit's own
peak RSS plus its largest child's). Wall times are medians of `--repeat` runs; on fleets of
more than `--full-repeat-renders` renders the slow ones (loop, cold, shared chart) run once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import fleet as fleet_module
from benchmarks import largecharts, run
from benchmarks.fleet import Fleet, git
from toolkit.render import tools

# (name, environments, releases per environment); "large" is the large-chart fleet.
FLEETS = (("12x8", 12, 8), ("50x20", 50, 20), ("100x30", 100, 30), ("large", 4, 2))


def _generate(name: str, environments: int, releases: int, root: Path) -> Fleet:
    if name == "large":
        return largecharts.generate(root, environments=environments)
    return fleet_module.generate(root, environments=environments, releases=releases)


def _shared_chart_template(fleet: Fleet) -> Path:
    """A template of the chart the first release uses, in every environment."""
    chart = fleet.root / "charts" / fleet.releases[0].chart / "templates"
    return sorted(chart.glob("*.yaml"))[0]


def _change_one_environment(fleet: Fleet, index: int, label: str) -> str:
    """Commit a new team label in one environment's last release; return the environment."""
    env = fleet.environments[(7 + index) % len(fleet.environments)]
    release = [r for r in fleet.releases if r.environment == env][-1]
    values = fleet.values_file(env, release.name)
    values.write_text(values.read_text().replace("team: ", f"team: {label}-"))
    git(fleet.root, "commit", "-q", "-am", f"{env}: a values change")
    return env


def _summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in ("seconds", "cpu_s", "peak_mb")}


def measure(
    name: str, environments: int, releases: int, args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    """One fleet generated, locked and measured."""
    fleet = _generate(name, environments, releases, work / "fleet")
    run.lock_fleet(fleet, work)
    renders = len(fleet.releases) + len(fleet.environments)
    slow_repeat = args.repeat if renders <= args.full_repeat_renders else 1
    setup = run.Setup(
        fleet, work, tools.find_helm(), tools.find_kustomize(), args.jobs, slow_repeat
    )
    cache = work / "toolkit-cache"
    root = fleet.root

    def repeated(times: int, action: Callable[[int], dict[str, Any]]) -> dict[str, float]:
        return _summary([action(i) for i in range(times)])

    def cold(_: int) -> dict[str, Any]:
        shutil.rmtree(cache, ignore_errors=True)
        git(root, "update-ref", "-d", "refs/heads/rendered")
        return run.toolkit(setup, cache)

    def one_environment(i: int) -> dict[str, Any]:
        _change_one_environment(fleet, i, f"bench{i}")
        return run.toolkit(setup, cache)

    def shared_chart(i: int) -> dict[str, Any]:
        template = _shared_chart_template(fleet)
        template.write_text(template.read_text() + f"# shared chart change {i}\n")
        git(root, "commit", "-q", "-am", f"a shared chart change {i}")
        return run.toolkit(setup, cache)

    def diff(i: int) -> dict[str, Any]:
        run.toolkit(setup, cache)  # the base is hydrated, as main is
        _change_one_environment(fleet, i, f"diff{i}")
        return run.toolkit_command(setup, cache, "diff", "--base", "HEAD~1", "--head", "HEAD")

    loop = run.run_shell_loop(setup)
    results: dict[str, Any] = {
        "fleet": {"name": name, "environments": len(fleet.environments), "renders": renders},
        "shell_loop": loop,
        "cold": repeated(slow_repeat, cold),
        "unchanged": repeated(args.repeat, lambda i: run.toolkit(setup, cache)),
        "one_env": repeated(args.repeat, one_environment),
        "shared_chart": repeated(slow_repeat, shared_chart),
        "diff_one_env": repeated(args.repeat, diff),
    }
    run.toolkit(setup, cache)  # the last diff's change hydrated: status sees a current branch
    results["status"] = repeated(args.repeat, lambda i: run.toolkit_command(setup, cache, "status"))
    results["files"] = len(git(root, "ls-tree", "-r", "--name-only", "rendered").splitlines())
    measured = ("cold", "unchanged", "one_env", "shared_chart", "diff_one_env", "status")
    results["peak_mb"] = max(results[key]["peak_mb"] for key in measured)
    results["slow_repeat"] = slow_repeat
    return results


def _s(run_: dict[str, float]) -> str:
    return f"{run_['seconds']:.2f} s"


def table(fleets: dict[str, dict[str, Any]]) -> str:
    """One row per fleet: each measurement's wall time, with its ratio to cold (or the loop)."""
    lines = [
        "| fleet | renders | files | serial loop | cold | nothing changed | one env changed "
        "| shared chart changed | diff, one env | status | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in fleets.items():
        cold = r["cold"]["seconds"]
        lines.append(
            f"| {name} | {r['fleet']['renders']} | {r['files']} | {_s(r['shell_loop'])} "
            f"| {_s(r['cold'])} ({cold / r['shell_loop']['seconds']:.2f} x loop) "
            f"| {_s(r['unchanged'])} ({r['unchanged']['seconds'] / cold:.3f} x cold) "
            f"| {_s(r['one_env'])} ({r['one_env']['seconds'] / cold:.3f} x cold) "
            f"| {_s(r['shared_chart'])} | {_s(r['diff_one_env'])} | {_s(r['status'])} "
            f"| {r['peak_mb']:.0f} MB |"
        )
    return "\n".join(lines)


def growth(fleets: dict[str, dict[str, Any]]) -> tuple[str, list[tuple[str, bool]]]:
    """How each measurement grows from the smallest synthetic fleet to each larger one, and the
    targets: between the smallest and the largest, nothing changed and one environment changed
    within 1.3 x, cold no faster than the renders, peak memory under 300 MB at the largest; and
    the smallest fleet's own."""
    synthetic = [name for name in fleets if name != "large"]
    if not synthetic:
        return "", []
    small, big = fleets[synthetic[0]], fleets[synthetic[-1]]
    lines = [
        f"| from {synthetic[0]} to | renders | cold | nothing changed | one env changed "
        "| shared chart changed | diff, one env | status | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in synthetic[1:]:
        other = fleets[name]
        grown = [other[key]["seconds"] / small[key]["seconds"] for key in _GROWN]
        lines.append(
            f"| {name} | {other['fleet']['renders'] / small['fleet']['renders']:.1f} x | "
            + " | ".join(f"{ratio:.2f} x" for ratio in grown)
            + f" | {other['peak_mb'] / small['peak_mb']:.2f} x |"
        )
    cold = small["cold"]["seconds"]
    targets = []
    if len(synthetic) > 1:
        grew = {key: big[key]["seconds"] / small[key]["seconds"] for key in _GROWN}
        renders = big["fleet"]["renders"] / small["fleet"]["renders"]
        targets = [
            ("nothing changed, largest / smallest <= 1.3", grew["unchanged"] <= 1.3),
            ("one environment changed, largest / smallest <= 1.3", grew["one_env"] <= 1.3),
            ("cold grows no faster than the renders", grew["cold"] <= renders),
            ("peak RSS at the largest < 300 MB", big["peak_mb"] < 300),
        ]
    targets += [
        ("smallest: cold <= 0.6 x loop", cold <= 0.6 * small["shell_loop"]["seconds"]),
        ("smallest: nothing changed <= 0.05 x cold", small["unchanged"]["seconds"] <= 0.05 * cold),
        ("smallest: one env changed <= 0.15 x cold", small["one_env"]["seconds"] <= 0.15 * cold),
    ]
    return "\n".join(lines), targets


_GROWN = ("cold", "unchanged", "one_env", "shared_chart", "diff_one_env", "status")


def report(fleets: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    growth_table, targets = growth(fleets)
    slow = {name: r["slow_repeat"] for name, r in fleets.items()}
    verdicts = [f"- {target}: {'yes' if met else 'NO'}" for target, met in targets]
    load = os.getloadavg()[0]
    return "\n\n".join(
        [
            table(fleets),
            growth_table,
            "\n".join(verdicts),
            f"{os.cpu_count()} CPUs, load average {args.load_at_start:.1f} at the start and "
            f"{load:.1f} at the end; -j {args.jobs}; medians of {args.repeat} runs, the loop, "
            "cold and shared chart runs "
            + ", ".join(f"{name} x {times}" for name, times in slow.items())
            + ".",
        ]
    )


def main(args: argparse.Namespace) -> dict[str, Any]:
    """Measure every fleet of `args.scale_fleets` (all of FLEETS by default) in turn."""
    args.load_at_start = os.getloadavg()[0]
    wanted = [f for f in FLEETS if not args.scale_fleets or f[0] in args.scale_fleets]
    fleets = {}
    for name, environments, releases in wanted:
        with tempfile.TemporaryDirectory(prefix="toolkit-bench-") as temporary:
            fleets[name] = measure(name, environments, releases, args, Path(temporary))
        print(f"{name}: {table({name: fleets[name]}).splitlines()[-1]}", flush=True)
    text = report(fleets, args)
    print(f"\nscale:\n\n{text}\n", flush=True)
    return {"fleets": fleets, "table": text}
