"""Tag names and the images a tag message lists."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.ci import Remote, tiny_overlay
from tests.golden import assert_golden
from tests.helpers import Cli, git, git_exact
from toolkit.hydrate import tags
from toolkit.manifests import model


def test_next_tag_counts_up_from_the_highest_number_of_that_environment() -> None:
    assert tags.next_tag("dev", []) == "dev/1"
    existing = ["refs/tags/dev/1", "refs/tags/dev/10", "refs/tags/dev/9", "refs/tags/staging/40"]
    assert tags.next_tag("dev", existing) == "dev/11"
    assert tags.next_tag("dev", ["refs/tags/dev/x", "refs/tags/dev-2/5"]) == "dev/1"


def test_images_come_from_every_kind_of_pod_template() -> None:
    text = """\
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers: [{name: init, image: busybox:1.36}]
          containers: [{name: job, image: example/job:2}, {name: side, image: busybox:1.36}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {image: not-a-container}
"""
    resources = model.parse(text, source="kustomize", namespace="ns", where="test")
    assert tags.images(resources) == ["busybox:1.36", "example/job:2"]


def test_numbers_continue_from_the_remote_tags_and_are_pushed(
    tiny_remote: Remote, run_cli: Cli
) -> None:
    first = tiny_remote.clone("first")
    assert run_cli(first, "hydrate", "--push", "--tag").exit_code == 0
    newer = tiny_remote.commit(tiny_overlay("dev", "v9"), "dev: v9")
    second = tiny_remote.clone("second")
    git(second, "tag", "-d", "dev/1", "prod/1")  # a checkout without tags, as CI often has
    result = run_cli(second, "hydrate", "--push", "--tag")
    assert result.exit_code == 0, result.stderr
    assert "tagged dev/2" in result.stderr and "prod/2" not in result.stderr
    remote_tags = git(tiny_remote.bare, "tag", "-l").split()
    assert remote_tags == ["dev/1", "dev/2", "prod/1"]
    assert git(tiny_remote.bare, "rev-parse", "dev/2^{commit}") == newer
    assert "example/web:v9" in git(tiny_remote.bare, "tag", "-l", "--format=%(contents)", "dev/2")
    assert git(second, "rev-parse", "dev/2") == git(tiny_remote.bare, "rev-parse", "dev/2")


def test_the_tag_message_is_golden(example_repo: Path, run_cli: Cli) -> None:
    head = git(example_repo, "rev-parse", "HEAD")
    assert run_cli(example_repo, "hydrate", "--tag").exit_code == 0
    tag = git_exact(example_repo, "cat-file", "tag", "production/1").split("\n\n", 1)[1]
    assert_golden(
        "production-tag-message.txt", tag.replace(head, "<head>").replace(head[:12], "<head>")
    )
