"""`toolkit diff --format html`: one page that a real browser (headless Chromium) opens, whose
sections expand, that loads and runs nothing, and whose DOM holds no planted secret."""

from __future__ import annotations

import html
import html.parser
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.diff.test_formats import configmap, report_of, resources
from tests.fixtures.diffrepos import PLANTED
from tests.helpers import Cli
from toolkit.diff import comparison, formats

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    BROWSER is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)


class _Elements(html.parser.HTMLParser):
    """The start tags of a DOM, with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(dom: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(dom)
    return parser.tags


def dump_dom(page: Path, profile: Path, fragment: str = "") -> str:
    """The DOM headless Chromium builds from the page (opened at `#fragment`), once loaded."""
    assert BROWSER is not None
    result = subprocess.run(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",  # the tests may run as root
            "--disable-gpu",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri() + fragment,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.browser
@needs_chromium
def test_the_page_opens_in_chromium_sections_expand_and_no_secret_is_in_it(
    secrets_repo: Path, run_cli: Cli, tmp_path: Path
) -> None:
    result = run_cli(secrets_repo, "diff", "--format", "html")
    assert result.exit_code == 0, result.stderr
    page = tmp_path / "diff.html"
    page.write_text(result.stdout)
    dom = dump_dom(page, tmp_path / "profile")
    tags = elements(dom)
    assert ("h1", {}) in tags and "secret key stringData.token: changed" in dom
    # Self-contained: nothing to fetch, nothing to run.
    assert not [t for t, _ in tags if t in ("script", "link", "img", "iframe", "object")]
    assert not [a for _, a in tags if "src" in a or "href" in a]
    sections = [a for t, a in tags if t == "details"]
    assert [a["class"] for a in sections] == ["environment"] + ["resource"] * (len(sections) - 1)
    assert len(sections) > 2 and not [a for a in sections if "open" in a]
    for value in PLANTED:
        assert value not in dom, value
    # Opened at a diff, the browser expands the sections holding it: its environment, its resource.
    opened = [
        a["id"]
        for t, a in elements(dump_dom(page, tmp_path / "profile", "#env-1-2-diff"))
        if t == "details" and "open" in a
    ]
    assert opened == ["env-1", "env-1-2"]


def test_names_that_try_to_close_elements_stay_text_in_the_page() -> None:
    hostile = "x</summary></details><script>alert(1)</script><img src=y>"
    base = resources([configmap(hostile, "old")])
    head = resources([configmap(hostile, "new")])
    page = formats.formatted(
        report_of({"dev": comparison.compare(base, head)}), "html", max_bytes=None, color=False
    )
    tags = [tag for tag, _ in elements(page)]
    assert "script" not in tags and "img" not in tags
    assert tags.count("details") == 2 and tags.count("summary") == 2
    assert html.escape(hostile) in page
