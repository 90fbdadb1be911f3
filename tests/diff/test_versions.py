"""versions.py: the chart versions and images a change moves, read from the resources."""

from __future__ import annotations

from tests.diff.test_comparison import bodies
from toolkit.diff import versions
from toolkit.diff.versions import VersionChange
from toolkit.manifests.model import Resource


def test_an_image_reference_splits_at_the_tag_not_the_registry_port() -> None:
    assert versions.split_image("ghcr.io/acme/api:3.12.5") == ("ghcr.io/acme/api", "3.12.5")
    assert versions.split_image("registry:5000/api") == ("registry:5000/api", "latest")
    assert versions.split_image("registry:5000/api:1.0") == ("registry:5000/api", "1.0")
    digest = "sha256:" + "ab" * 32
    assert versions.split_image(f"api:1.0@{digest}") == ("api", "1.0@sha256:abababababab")
    assert versions.split_image(f"api@{digest}") == ("api", "sha256:abababababab")


def pod(name: str, *images: str, init: str | None = None) -> dict[str, object]:
    spec: dict[str, object] = {"containers": [{"name": f"c{i}", "image": i} for i in images]}
    if init:
        spec["initContainers"] = [{"name": "init", "image": init}]
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}},
    }


def test_images_of_every_pod_spec_are_compared_by_repository() -> None:
    base = bodies(pod("a", "api:1.0", init="busybox:1"), pod("b", "api:1.0", "cache:7"))
    head = bodies(pod("a", "api:1.1", init="busybox:1"), pod("b", "api:1.0", "proxy:2"))
    assert versions.image_changes(base.values(), head.values()) == (
        VersionChange("api", ("1.0",), ("1.0", "1.1")),
        VersionChange("cache", ("7",), ()),
        VersionChange("proxy", (), ("2",)),
    )


def test_chart_versions_by_release() -> None:
    assert versions.chart_changes({"api": "1.4.0", "old": "1"}, {"api": "1.5.0", "new": "2"}) == (
        VersionChange("api", ("1.4.0",), ("1.5.0",)),
        VersionChange("new", (), ("2",)),
        VersionChange("old", ("1",), ()),
    )
    assert versions.chart_changes({"api": "1.4.0"}, {"api": "1.4.0"}) == ()


def test_resources_alike_on_both_sides_are_read_only_for_a_repository_whose_tags_moved() -> None:
    same = list(bodies(pod("same", "api:0.9", "cache:7")).values())
    read = []

    def alike() -> list[Resource]:
        read.append(True)
        return same

    base = bodies(pod("a", "api:1.0", "cache:7"))
    head = bodies(pod("a", "api:1.1", "cache:7"))
    # Every tag each side runs, those of the resources alike on both sides included.
    assert versions.image_changes(base.values(), head.values(), alike) == (
        VersionChange("api", ("0.9", "1.0"), ("0.9", "1.1")),
    )
    assert read == [True]
    read.clear()
    assert versions.image_changes(base.values(), base.values(), alike) == ()
    assert read == []  # no repository's tags moved: nothing else is parsed
