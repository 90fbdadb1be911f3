"""`toolkit diff --split DIR`: numbered comments within the budget, read as GitHub reads them
(cmark-gfm), the first indexing the rest, and every line of every diff in one of them."""

from __future__ import annotations

import html
import re
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from tests.diff.test_formats import assert_balanced, configmap, report_of, resources
from tests.helpers import Cli, make_repo
from toolkit.diff import comment, comparison, split

MANY = 2_000


def code_blocks(markdown: str) -> list[str]:
    """The text of every code block, as GitHub's renderer reads the comment."""
    rendered = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    assert rendered.count("<details>") == rendered.count("</details>")
    return [
        html.unescape(b) for b in re.findall(r"<pre><code[^>]*>(.*?)</code></pre>", rendered, re.S)
    ]


@pytest.fixture(scope="module")
def many_configmaps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    chart = {
        "charts/many/Chart.yaml": "apiVersion: v2\nname: many\nversion: 1.0.0\n",
        "charts/many/templates/configmaps.yaml": (
            f"{{{{- range $i := until {MANY} }}}}\n---\napiVersion: v1\nkind: ConfigMap\n"
            "metadata:\n  name: settings-{{ $i }}\n"
            "data:\n{{- range $k := until 12 }}\n"
            "  key-{{ $k }}: {{ $.Values.value }}-{{ $i }}-{{ $k }}\n{{- end }}\n{{- end }}\n"
        ),
        "toolkit.yaml": "environments: [{name: dev}]\n",
        "overlays/dev/releases.yaml": (
            "releases:\n  - {name: many, namespace: many, chart: ../../charts/many, "
            "createNamespace: true, set: {value: before}}\n"
        ),
    }
    return chart


def test_a_2000_resource_change_splits_into_comments_that_lose_nothing(
    tmp_path: Path, run_cli: Cli, many_configmaps: dict[str, str]
) -> None:
    repo = make_repo(tmp_path / "many", many_configmaps, example=False)
    releases = repo / "overlays/dev/releases.yaml"
    releases.write_text(releases.read_text().replace("before", "after"))
    full = tmp_path / "full.md"
    out = tmp_path / "comments"
    result = run_cli(
        repo, "diff", "--format", "markdown", "--split", str(out), "--max-bytes", "65000",
        "--output-full", str(full),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    files = sorted(out.iterdir())
    assert [str(f) for f in files] == result.stdout.splitlines()
    assert [f.name for f in files] == [f"comment-{n:03}.md" for n in range(1, len(files) + 1)]
    comments = [f.read_text() for f in files]
    assert len(comments) > 10
    for number, text in enumerate(comments, 1):
        assert len(text.encode()) <= 65_000, number
        assert_balanced(text)
        marker = comment.MARKER if number == 1 else split.PART_MARKER.format(number=number)
        assert text.startswith(marker + "\n")
    first = comments[0]
    assert "| dev | 0 | 2000 | 0 |" in first and "```diff" not in first
    assert f"**This diff is in {len(comments)} comments**, each within 65000 bytes:" in first
    index = re.findall(r"^(\d+)\. dev \((\d+) resources\)$", first, flags=re.M)
    assert [int(n) for n, _ in index] == list(range(2, len(comments) + 1))
    for (_, count), text in zip(index, comments[1:], strict=True):
        assert text.count("\n- changed `ConfigMap many/settings-") == int(count)
    assert sum(int(count) for _, count in index) == MANY
    # Nothing lost: every diff, in order, as the uncut comment holds them.
    assert [b for text in comments for b in code_blocks(text)] == code_blocks(full.read_text())


def test_a_diff_larger_than_a_comment_continues_in_the_next(tmp_path: Path) -> None:
    base = resources([configmap("huge", "old", 3000), configmap("small", "old")])
    head = resources([configmap("huge", "new", 3000), configmap("small", "new")])
    long_line = {**configmap("long", "x"), "data": {"blob": "y" * 30_000}}
    head.update(resources([long_line]))
    report = report_of({"staging": comparison.compare(base, head)})
    comments = split.split(report, 10_000)
    assert all(len(c.encode()) <= 10_000 for c in comments)
    for text in comments:
        assert_balanced(text)
    huge = [c for c in comments if "`ConfigMap apps/huge`" in c and "####" in c]
    assert len(huge) > 5 and "(continued, 2 of " in huge[1]
    whole = comment.markdown(report, max_bytes=None)
    parts = [b for text in comments for b in code_blocks(text)]
    # A line longer than a comment is cut, so compare what the blocks hold, breaks aside.
    assert "".join(parts).replace("\n", "") == "".join(code_blocks(whole)).replace("\n", "")


def test_split_replaces_the_comments_of_an_earlier_run(tmp_path: Path) -> None:
    out = tmp_path / "comments"
    (out / "notes.txt").parent.mkdir()
    (out / "notes.txt").write_text("mine\n")
    big = report_of({"dev": comparison.compare(
        resources([configmap(f"c{i}", "old", 20) for i in range(100)]),
        resources([configmap(f"c{i}", "new", 20) for i in range(100)]),
    )})  # fmt: skip
    assert len(split.write_comments(out, big, 5_000)) > 3
    small = report_of({"dev": ()})
    assert split.write_comments(out, small, 5_000) == [out / "comment-001.md"]
    assert sorted(p.name for p in out.iterdir()) == ["comment-001.md", "notes.txt"]
    assert "No differences." in (out / "comment-001.md").read_text()


def test_split_needs_the_markdown_format(example_repo: Path, run_cli: Cli, tmp_path: Path) -> None:
    result = run_cli(example_repo, "diff", "--split", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "--split writes markdown comments: add --format markdown" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_change_line_longer_than_the_budget_still_splits() -> None:
    key = "k" * 12_000  # a changed path longer than the comment: the list line alone overflows
    base = resources([{**configmap("wide", "old"), "data": {key: "old"}}])
    head = resources([{**configmap("wide", "new"), "data": {key: "new"}}])
    comments = split.split(report_of({"dev": comparison.compare(base, head)}), 5_000)
    assert len(comments) >= 2
    for text in comments:
        assert_balanced(text)
