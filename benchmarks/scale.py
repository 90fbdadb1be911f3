"""`nox -s bench -- --scale` (`python -m benchmarks.run --scale`): the benchmark's measurements
on fleets of growing size, in one run, and how each grows between the smallest and the largest.

Per fleet (synthetic ones of N environments x M releases, benchmarks/fleet.py, and the
large-chart fleet, benchmarks/largecharts.py): the serial shell loop of the same helm and
kustomize commands; `toolkit hydrate` from cold caches; again with nothing changed; after one
environment's values changed; after a shared chart changed (every environment that uses it
renders again); `toolkit diff` of a commit that changes one environment (its base hydrated, as
on a pull request); `toolkit status`; and the peak memory (the most that toolkit and its
children held at once) of a cold hydrate, a one-environment change, its diff and status, each
run once more for it, sampled and not timed. The measurements run in rounds, each of them in
turn, so that a ratio compares runs made moments apart on a machine whose load moves:
`--repeat` rounds (one on fleets of more than `--full-repeat-renders` renders), the fast
measurements run `--repeat` times in each. Times are medians of all runs; ratios, medians over
the rounds.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import fleet as fleet_module
from benchmarks import largecharts, run
from benchmarks.fleet import Fleet, git
from toolkit.render import tools

# Synthetic fleets as ENVIRONMENTSxRELEASES, smallest first; "large" is the large-chart fleet.
FLEETS = ("12x8", "50x20", "100x30", "large")


def _size(name: str) -> tuple[int, int]:
    """(environments, releases per environment) of a fleet's name."""
    if name == "large":
        return 4, 2
    environments, _, releases = name.partition("x")
    if not (environments.isdigit() and releases.isdigit()):
        raise SystemExit(f"--scale-fleets: {name!r} is neither NxM (12x8) nor large")
    return int(environments), int(releases)


def _generate(name: str, environments: int, releases: int, root: Path) -> Fleet:
    if name == "large":
        return largecharts.generate(root, environments=environments)
    return fleet_module.generate(root, environments=environments, releases=releases)


def _shared_chart_template(fleet: Fleet) -> Path:
    """A template of the chart the first release uses, in every environment."""
    chart = fleet.root / "charts" / fleet.releases[0].chart / "templates"
    return sorted(chart.glob("*.yaml"))[0]


def _summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in ("seconds", "cpu_s")}


def measure(
    name: str, environments: int, releases: int, args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    """One fleet generated, locked and measured."""
    fleet = _generate(name, environments, releases, work / "fleet")
    run.lock_fleet(fleet, work)
    renders = len(fleet.releases) + len(fleet.environments)
    rounds = args.repeat if renders <= args.full_repeat_renders else 1
    setup = run.Setup(fleet, work, tools.find_helm(), tools.find_kustomize(), args.jobs, 1)
    cache = work / "toolkit-cache"
    root = fleet.root

    def cold(sampled: bool = False) -> dict[str, Any]:
        run.cold_start(setup, cache)
        return run.toolkit(setup, cache, sampled=sampled)

    def one_environment(label: str, sampled: bool = False) -> dict[str, Any]:
        fleet.change_one_environment(next(changes), label)
        return run.toolkit(setup, cache, sampled=sampled)

    def shared_chart(label: str) -> dict[str, Any]:
        # Committed with the locks it moves, as a team commits it: a chart changed under a
        # lock that still names its old tree renders that tree, warns, and settles nothing.
        template = _shared_chart_template(fleet)
        template.write_text(template.read_text() + f"# shared chart change {label}\n")
        run.lock_fleet(fleet, work, f"a shared chart change {label}")
        return run.toolkit(setup, cache)

    def diff(label: str, sampled: bool = False) -> dict[str, Any]:
        fleet.change_one_environment(next(changes), f"diff{label}")
        measured = run.toolkit_command(
            setup, cache, "diff", "--base", "HEAD~1", "--head", "HEAD", sampled=sampled
        )
        run.toolkit(setup, cache)  # the change hydrated, as it is once merged
        return measured

    changes = itertools.count()
    # Rounds of every measurement in turn, so that each ratio compares runs made moments apart
    # (the machine's load moves a lot); in each, a fast measurement runs `repeat` times while
    # the slow ones run once: a run of tenths of a second moves most with the load.
    fast = args.repeat
    samples: dict[str, list[dict[str, Any]]] = {key: [] for key in _MEASURED}
    for r in range(rounds):
        samples["shell_loop"].append(run.run_shell_loop(setup))
        samples["cold"].append(cold())
        for i in range(fast):
            samples["unchanged"].append(run.toolkit(setup, cache))
            samples["one_env"].append(one_environment(f"bench{r}-{i}"))
            samples["diff_one_env"].append(diff(f"{r}-{i}"))
            samples["status"].append(run.toolkit_command(setup, cache, "status"))
        samples["shared_chart"].append(shared_chart(str(r)))
    results: dict[str, Any] = {key: _summary(runs) for key, runs in samples.items()}
    results["ratios"] = {
        "cold_to_loop": _round_ratio(samples, "cold", "shell_loop", rounds),
        "cold_cpu_to_loop_cpu": _round_ratio(samples, "cold", "shell_loop", rounds, "cpu_s"),
        "unchanged_to_cold": _round_ratio(samples, "unchanged", "cold", rounds),
        "one_env_to_cold": _round_ratio(samples, "one_env", "cold", rounds),
        "unchanged_cpu_to_cold_cpu": _round_ratio(samples, "unchanged", "cold", rounds, "cpu_s"),
        "one_env_cpu_to_cold_cpu": _round_ratio(samples, "one_env", "cold", rounds, "cpu_s"),
    }
    results["fleet"] = {"name": name, "environments": len(fleet.environments), "renders": renders}
    results["files"] = len(git(root, "ls-tree", "-r", "--name-only", "rendered").splitlines())
    # Memory from runs of their own, sampled (the sampling would slow a timed run).
    peaks = (
        cold(sampled=True),
        one_environment("peak", sampled=True),
        diff("peak", sampled=True),
        run.toolkit_command(setup, cache, "status", sampled=True),
    )
    results["peak_mb"] = max(peak["peak_mb"] for peak in peaks)
    results["rounds"] = rounds
    return results


_MEASURED = ("shell_loop", "cold", "unchanged", "one_env", "shared_chart", "diff_one_env", "status")


def _round_ratio(
    samples: dict[str, list[dict[str, Any]]],
    key: str,
    base: str,
    rounds: int,
    field: str = "seconds",
) -> float:
    """The median over rounds of (the round's median `key`) / (the round's median `base`)."""

    def in_round(of: str, r: int) -> float:
        per_round = len(samples[of]) // rounds
        runs = samples[of][r * per_round : (r + 1) * per_round]
        return float(statistics.median(run_[field] for run_ in runs))

    return statistics.median(in_round(key, r) / in_round(base, r) for r in range(rounds))


def _s(run_: dict[str, float]) -> str:
    return f"{run_['seconds']:.2f} s"


def table(fleets: dict[str, dict[str, Any]]) -> str:
    """One row per fleet: each measurement's wall time, with its ratio to cold (or the loop)."""
    lines = [
        "| fleet | renders | files | serial loop (CPU) | cold (CPU) | nothing changed "
        "| one env changed | shared chart changed | diff, one env | status | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in fleets.items():
        ratio = r["ratios"]
        loop, cold = r["shell_loop"], r["cold"]
        lines.append(
            f"| {name} | {r['fleet']['renders']} | {r['files']} "
            f"| {_s(loop)} ({loop['cpu_s']:.1f} s) "
            f"| {_s(cold)} ({cold['cpu_s']:.1f} s): {ratio['cold_to_loop']:.2f} x loop "
            f"({ratio['cold_cpu_to_loop_cpu']:.2f} x CPU) "
            f"| {_s(r['unchanged'])}: {ratio['unchanged_to_cold']:.3f} x cold "
            f"({ratio['unchanged_cpu_to_cold_cpu']:.3f} x CPU) "
            f"| {_s(r['one_env'])}: {ratio['one_env_to_cold']:.3f} x cold "
            f"({ratio['one_env_cpu_to_cold_cpu']:.3f} x CPU) "
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
        f"| from {synthetic[0]} to | renders | serial loop | cold | nothing changed "
        "| one env changed | shared chart changed | diff, one env | status | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in synthetic[1:]:
        other = fleets[name]
        grown = [other[key]["seconds"] / small[key]["seconds"] for key in _GROWN]
        lines.append(
            f"| {name} | {other['fleet']['renders'] / small['fleet']['renders']:.1f} x "
            f"| {other['shell_loop']['seconds'] / small['shell_loop']['seconds']:.2f} x | "
            + " | ".join(f"{ratio:.2f} x" for ratio in grown)
            + f" | {other['peak_mb'] / small['peak_mb']:.2f} x |"
        )
    ratio = small["ratios"]
    targets = []
    if len(synthetic) > 1:
        grew = {key: big[key]["seconds"] / small[key]["seconds"] for key in _GROWN}
        renders = big["fleet"]["renders"] / small["fleet"]["renders"]
        targets = [
            ("nothing changed, largest / smallest <= 1.3", grew["unchanged"] <= 1.3),
            ("one environment changed, largest / smallest <= 1.3", grew["one_env"] <= 1.3),
            ("cold grows no faster than the renders", grew["cold"] <= renders),
            # The loop is the renders' own cost at the time: on a loaded machine it moves too.
            (
                "cold grows no faster than the serial loop of its renders",
                big["ratios"]["cold_to_loop"] <= small["ratios"]["cold_to_loop"] * 1.05,
            ),
            ("peak RSS at the largest < 300 MB", big["peak_mb"] < 300),
        ]
    targets += [
        ("smallest: cold <= 0.6 x loop", ratio["cold_to_loop"] <= 0.6),
        ("smallest: nothing changed <= 0.05 x cold", ratio["unchanged_to_cold"] <= 0.05),
        ("smallest: one environment changed <= 0.15 x cold", ratio["one_env_to_cold"] <= 0.15),
    ]
    return "\n".join(lines), targets


_GROWN = ("cold", "unchanged", "one_env", "shared_chart", "diff_one_env", "status")


def report(fleets: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    growth_table, targets = growth(fleets)
    rounds = {name: r["rounds"] for name, r in fleets.items()}
    verdicts = [f"- {target}: {'yes' if met else 'NO'}" for target, met in targets]
    load = os.getloadavg()[0]
    return "\n\n".join(
        [
            table(fleets),
            growth_table,
            "\n".join(verdicts),
            f"{os.cpu_count()} CPUs, load average {args.load_at_start:.1f} at the start and "
            f"{load:.1f} at the end; -j {args.jobs}; times are medians of {args.repeat} runs, "
            "ratios medians over rounds of every measurement in turn (rounds: "
            + ", ".join(f"{name} {times}" for name, times in rounds.items())
            + "; the loop, cold and shared chart run once a round); CPU is toolkit's own and "
            "its children's.",
        ]
    )


def main(args: argparse.Namespace) -> dict[str, Any]:
    """Measure every fleet of `args.scale_fleets` (FLEETS by default) in turn."""
    args.load_at_start = os.getloadavg()[0]
    wanted = [(name, *_size(name)) for name in args.scale_fleets or FLEETS]
    fleets = {}
    for name, environments, releases in wanted:
        with tempfile.TemporaryDirectory(prefix="toolkit-bench-") as temporary:
            fleets[name] = measure(name, environments, releases, args, Path(temporary))
        print(f"{name}: {table({name: fleets[name]}).splitlines()[-1]}", flush=True)
    text = report(fleets, args)
    print(f"\nscale:\n\n{text}\n", flush=True)
    return {"fleets": fleets, "table": text}
