"""Noise rules on real renders: a chart bump from a real chart repository that rewrites the
bookkeeping labels of every resource folds into one line, and only a real change counts."""

from __future__ import annotations

import re
from pathlib import Path

from tests.fixtures.diffrepos import bump_chart
from tests.golden import assert_golden
from tests.helpers import Cli, json_result
from toolkit.diff import noise

FOLDED = "- `api`: {} resources changed only in chart bookkeeping labels (noise rule `bookkeeping`)"


def masked(output: str) -> str:
    """The output with the commits (new each run) replaced by placeholders."""
    return re.sub(r"\b[0-9a-f]{12}\b", "COMMIT", output)


def test_a_bump_changing_only_bookkeeping_labels_is_one_line_and_exit_0(
    chart_bump_repo: Path, run_cli: Cli
) -> None:
    bump_chart(chart_bump_repo, run_cli, "1.4.1")
    result = run_cli(chart_bump_repo, "diff", "--format", "markdown", "--exit-code")
    assert result.exit_code == 0, result.stderr
    assert FOLDED.format(51) in result.stdout.splitlines()
    assert "```diff" not in result.stdout and "- changed " not in result.stdout
    assert "| dev | 0 | 0 | 0 | 51 |" in result.stdout
    noise_line = "> noise rule `bookkeeping` folded 51 changes (`app.kubernetes.io/managed-by`"
    assert noise_line in result.stdout

    strict = run_cli(chart_bump_repo, "diff", "--exit-code", "--strict")
    assert strict.exit_code == 1, strict.stderr
    listed = run_cli(chart_bump_repo, "diff", "--format", "markdown", "--no-fold", "bookkeeping")
    assert listed.stdout.count("```diff") == 51 and "folded" not in listed.stdout
    plan = json_result(run_cli(chart_bump_repo, "diff", "--format", "json").stdout)
    assert plan["differs"] is False and plan["differsAtAll"] is True
    assert plan["noise"] == {"bookkeeping": 51}
    (env,) = plan["environments"]
    assert {r["foldedBy"] for r in env["resources"]} == {"bookkeeping"}
    assert len(env["resources"]) == env["folded"] == 51


def test_a_bump_with_one_real_change_shows_it_beside_the_folded_line(
    chart_bump_repo: Path, run_cli: Cli
) -> None:
    bump_chart(chart_bump_repo, run_cli, "1.5.0")
    result = run_cli(chart_bump_repo, "diff", "--format", "markdown", "--exit-code")
    assert result.exit_code == 1, result.stderr
    lines = result.stdout.splitlines()
    assert FOLDED.format(50) in lines
    (changed,) = [line for line in lines if line.startswith("- changed ")]
    assert changed == (
        "- changed `Deployment.apps api/api`: `/spec/template/spec/containers/0/image` "
        "(and bookkeeping labels)"
    )
    assert result.stdout.count("```diff") == 1
    assert '+          image: "ghcr.io/acme/api:3.12.5"' in result.stdout
    # What changed comes first: above the table and the collapsed sections.
    what = result.stdout.index("**What changed**\n\n- dev chart `api`: `1.4.0` → `1.5.0`\n")
    assert "- dev image `ghcr.io/acme/api`: `3.12.4` → `3.12.5`\n" in result.stdout
    assert what < result.stdout.index("| environment |") < result.stdout.index("<details>")
    assert_golden("diff-chart-bump.md", masked(result.stdout))
    text = run_cli(chart_bump_repo, "diff")
    assert "# api: 50 resources changed only in chart bookkeeping labels" in text.stdout
    assert_golden("diff-chart-bump.txt", masked(text.stdout))
    page = run_cli(chart_bump_repo, "diff", "--format", "html")
    assert_golden("diff-chart-bump.html", masked(page.stdout))
    assert "\ndev image ghcr.io/acme/api: 3.12.4 -> 3.12.5\n" in text.stdout
    (env,) = json_result(run_cli(chart_bump_repo, "diff", "--format", "json").stdout)[
        "environments"
    ]
    assert env["charts"] == [{"name": "api", "from": ["1.4.0"], "to": ["1.5.0"]}]
    assert env["images"] == [{"name": "ghcr.io/acme/api", "from": ["3.12.4"], "to": ["3.12.5"]}]


def test_a_checksum_annotation_stays_visible_as_a_rollout(
    chart_bump_repo: Path, run_cli: Cli
) -> None:
    releases = chart_bump_repo / "overlays/dev/releases.yaml"
    releases.write_text(releases.read_text() + "  set: {config.level: debug}\n")
    result = run_cli(chart_bump_repo, "diff", "--format", "markdown", "--exit-code")
    assert result.exit_code == 1, result.stderr
    (deployment,) = [
        line for line in result.stdout.splitlines() if line.startswith("- changed `Deployment")
    ]
    assert deployment.endswith(
        ": `/spec/template/metadata/annotations/checksum~1config` "
        "(rollout: `checksum/config` changed, the pods restart)"
    )
    assert "- changed `ConfigMap api/api-config`: `/data/config.yaml`" in result.stdout


def test_only_paths_under_metadata_labels_or_annotations_are_bookkeeping() -> None:
    rule = noise.BOOKKEEPING
    assert noise.matches(rule, "/metadata/labels/helm.sh~1chart")
    assert noise.matches(rule, "/spec/template/metadata/labels/app.kubernetes.io~1version")
    assert noise.matches(rule, "/metadata/annotations/app.kubernetes.io~1managed-by")
    assert not noise.matches(rule, "/spec/selector/matchLabels/app.kubernetes.io~1version")
    assert not noise.matches(rule, "/metadata/labels/app.kubernetes.io~1name")
    assert not noise.matches(rule, "/metadata/labels")  # labels added whole: a real change
    assert noise.folding_rule([], ["bookkeeping"]) is None
    assert noise.folding_rule(["/metadata/labels/helm.sh~1chart"], []) is None
    pod_template, own = "/spec/template/metadata", "/metadata"
    assert noise.rollout_checksums(
        [f"{pod_template}/annotations/checksum~1config", f"{own}/annotations/checksum~1x"]
    ) == ("checksum/config",)
