"""Tag names and the images a tag message lists."""

from __future__ import annotations

from toolkit import manifests, tags


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
    resources = manifests.parse(text, source="kustomize", namespace="ns", where="test")
    assert tags.images(resources) == ["busybox:1.36", "example/job:2"]
