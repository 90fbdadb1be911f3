"""The formats of a rendered diff: the markdown byte budget, balanced fences, no secret values."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.diff import comment, comparison, formats
from toolkit.diff.versions import VersionChange
from toolkit.infra import kubeyaml
from toolkit.manifests import model
from toolkit.validate.check import EnvironmentReport
from toolkit.validate.findings import Finding, Severity

ENVIRONMENTS = ("dev", "staging", "production")


def resources(documents: list[dict[str, Any]]) -> dict[model.ResourceId, model.Resource]:
    text = "".join("---\n" + kubeyaml.dump(d) for d in documents)
    parsed = model.parse(text, source="s", namespace="apps", where="test")
    return {r.id: r for r in parsed}


def configmap(name: str, value: str, lines: int = 1) -> dict[str, Any]:
    data = {f"key-{i}": f"{value}-{i}" for i in range(lines)}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def report_of(changes: dict[str, tuple[comparison.ResourceChange, ...]]) -> comparison.DiffReport:
    return comparison.DiffReport(
        base="a" * 40,
        head=None,
        environments=tuple(
            comparison.EnvironmentDiff(env, changes.get(env, ()), "render", "render")
            for env in ENVIRONMENTS
        ),
    )


def many_changes(count: int, lines: int) -> tuple[comparison.ResourceChange, ...]:
    base = resources([configmap(f"config-{i:03}", "old", lines) for i in range(count)])
    head = resources([configmap(f"config-{i:03}", "new", lines) for i in range(count)])
    return comparison.compare(base, head)


@pytest.fixture(scope="module")
def five_hundred() -> comparison.DiffReport:
    """500 changed resources in staging, bodies of varying size: far over any budget."""
    base = resources([configmap(f"config-{i:03}", "old", 1 + i % 17) for i in range(500)])
    head = resources([configmap(f"config-{i:03}", "new", 1 + i % 17) for i in range(500)])
    return report_of({"staging": comparison.compare(base, head)})


def assert_balanced(markdown: str) -> None:
    """Every fence opened is closed by a fence at least as long; <details> pairs up."""
    open_fence: str | None = None
    for line in markdown.splitlines():
        run = re.match(r"^(`{3,})", line)
        if open_fence is None and run:
            open_fence = run.group(1)
        elif (
            open_fence is not None and re.fullmatch(r"`{3,}", line) and len(line) >= len(open_fence)
        ):
            open_fence = None
    assert open_fence is None, "a fence is left open"
    outside_fences = re.sub(r"^(`{3,}).*?^\1$", "", markdown, flags=re.M | re.S)
    assert outside_fences.count("<details>") == outside_fences.count("</details>")


@pytest.mark.parametrize("budget", [65_000, 20_000, 5_000])
def test_500_resources_fit_the_budget_with_the_summary_complete(
    five_hundred: comparison.DiffReport, budget: int
) -> None:
    full = comment.markdown(five_hundred, max_bytes=None)
    assert len(full.encode()) > 65_000
    cut = comment.markdown(five_hundred, max_bytes=budget)
    assert len(cut.encode()) <= budget
    assert_balanced(cut)
    for env, counts in (
        ("dev", "0 | 0 | 0"),
        ("staging", "0 | 500 | 0"),
        ("production", "0 | 0 | 0"),
    ):
        assert f"| {env} | {counts} |" in cut
    assert "resource diffs left out" in cut


def test_at_the_default_budget_every_changed_resource_stays_listed(
    five_hundred: comparison.DiffReport,
) -> None:
    cut = comment.markdown(five_hundred)
    assert len(cut.encode()) <= comment.DEFAULT_MAX_BYTES
    listed = re.findall(r"^- changed `ConfigMap apps/(config-\d+)`", cut, flags=re.M)
    assert listed == [f"config-{i:03}" for i in range(500)]
    left_out = int(re.search(r"> (\d+) of 500 resource diffs left out", cut).group(1))  # type: ignore[union-attr]
    assert 0 < left_out < 500
    assert cut.count("```diff") == cut.count("#### changed") == 500 - left_out


def test_bodies_are_cut_largest_first() -> None:
    small = many_changes(5, 1)
    base = resources([configmap("huge", "old", 400)])
    head = resources([configmap("huge", "new", 400)])
    report = report_of({"dev": small + comparison.compare(base, head)})
    cut = comment.markdown(report, max_bytes=6_000)
    assert "> 1 of 6 resource diffs left out" in cut
    assert "- changed `ConfigMap apps/huge`" in cut
    assert "#### changed ConfigMap apps/huge" not in cut
    assert cut.count("```diff") == 5


@settings(max_examples=10, deadline=None)
@given(
    budget=st.integers(min_value=comment.MIN_MAX_BYTES, max_value=30_000),
    count=st.integers(min_value=0, max_value=40),
    lines=st.integers(min_value=1, max_value=30),
)
def test_any_budget_is_kept_and_balanced(budget: int, count: int, lines: int) -> None:
    report = report_of({"production": many_changes(count, lines)})
    cut = comment.markdown(report, max_bytes=budget)
    assert len(cut.encode()) <= budget
    assert_balanced(cut)
    assert f"| production | 0 | {count} | 0 |" in cut


def test_a_body_with_backticks_gets_a_longer_fence() -> None:
    base = resources([configmap("readme", "```old")])
    head = resources([configmap("readme", "````new")])
    markdown = comment.markdown(report_of({"dev": comparison.compare(base, head)}))
    assert "`````diff\n" in markdown
    assert_balanced(markdown)


SECRET_VALUE = "s3cr3t-planted-value"
SECRET_B64 = base64.b64encode(SECRET_VALUE.encode()).decode()


def secret(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "data": data}


def test_secret_values_reach_no_format_unless_asked() -> None:
    base = resources([secret(password=base64.b64encode(b"old").decode())])
    head = resources([secret(password=SECRET_B64, added=SECRET_B64)])
    report = report_of({"dev": comparison.compare(base, head)})
    outputs = [
        formats.text(report),
        comment.markdown(report),
        formats.as_json(report),
    ]
    for output in outputs:
        assert SECRET_VALUE not in output and SECRET_B64 not in output
    plan = json.loads(outputs[2])["environments"][0]["resources"][0]
    assert plan["secretDataChanged"] is True
    assert plan["secretKeys"] == [
        {"field": "data", "key": "added", "status": "added", "oldSize": None, "newSize": 20},
        {"field": "data", "key": "password", "status": "changed", "oldSize": 3, "newSize": 20},
    ]
    assert "secret key data.password: changed (3 bytes -> 20 bytes)" in outputs[0]
    shown = report_of({"dev": comparison.compare(base, head, show_secrets=True)})
    assert SECRET_B64 in formats.text(shown)


def test_text_colours_only_when_asked() -> None:
    report = report_of({"dev": many_changes(1, 1)})
    assert "\033[32m+" in formats.text(report, color=True)
    assert "\033[" not in formats.text(report)


def test_versions_and_validation_come_before_the_table_and_the_sections() -> None:
    finding = Finding(
        environment="dev",
        path="dev/api/deployment-api.yaml",
        line=8,
        rule="policy/image-tag",
        severity=Severity.WARNING,
        resource="Deployment.apps api/api",
        message="image tag latest",
    )
    report = replace(
        report_of({"dev": many_changes(2, 1)}),
        validation=(EnvironmentReport("dev", "1.33.0", (finding,)),),
    )
    dev = replace(
        report.environments[0],
        charts=(VersionChange("api", ("1.4.0",), ("1.5.0",)),),
        images=(VersionChange("ghcr.io/acme/api", ("3.12.4",), ()),),
    )
    report = replace(report, environments=(dev, *report.environments[1:]))
    markdown = comment.markdown(report)
    order = [
        markdown.index("**What changed**\n\n- dev chart `api`: `1.4.0` → `1.5.0`\n"),
        markdown.index("- dev image `ghcr.io/acme/api`: `3.12.4` → (none)\n"),
        markdown.index("**Validation of the head**: 0 errors, 1 warning"),
        markdown.index("| environment | added | changed | removed |"),
        markdown.index("<details>"),
    ]
    assert order == sorted(order)
    assert formats.text(report).startswith(
        f"base {'a' * 12} -> head work tree\n\ndev chart api: 1.4.0 -> 1.5.0\n"
    )
