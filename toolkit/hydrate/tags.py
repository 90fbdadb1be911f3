"""`hydrate --tag`: the annotated tag `<env>/<n>` that marks a source commit's hydrated state.

Promotion reads these tags (`promote --ref dev/7`), so the message lists what the state runs:
each release's chart and version, and every container image.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a hydrate without --tag (most) never loads the manifests' model
    from toolkit.manifests.model import Resource
    from toolkit.render.rendering import EnvironmentRender

TAGS_PREFIX = "refs/tags/"
_POD_SPEC_KEYS = ("containers", "initContainers", "ephemeralContainers")


def tag_pattern(environment: str) -> str:
    """The ref glob under which the environment's tags live (for ls-remote and for-each-ref)."""
    return f"{TAGS_PREFIX}{environment}/*"


def next_tag(environment: str, existing: Iterable[str]) -> str:
    """`<env>/<n>` with n one more than the highest number already used (local or remote)."""
    numbers = [0]
    pattern = re.compile(rf"{re.escape(TAGS_PREFIX)}{re.escape(environment)}/([0-9]+)")
    for ref in existing:
        match = pattern.fullmatch(ref)
        if match:
            numbers.append(int(match.group(1)))
    return f"{environment}/{max(numbers) + 1}"


def images(resources: Iterable[Resource]) -> list[str]:
    """Every container image the resources run, sorted and once each."""
    found: set[str] = set()
    for resource in resources:
        found.update(images_in(resource.body))
    return sorted(found)


def images_in(node: Any) -> Iterator[str]:
    """Images of containers anywhere in a resource (Deployments, CronJobs, Pods, custom kinds)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in _POD_SPEC_KEYS and isinstance(value, list):
                for container in value:
                    if isinstance(container, Mapping) and isinstance(container.get("image"), str):
                        yield container["image"]
            yield from images_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from images_in(item)


def tag_message(render: EnvironmentRender, source_sha: str, subject: str) -> str:
    """The annotated tag's message: the state in words a person and a script can read."""
    lines = [f"{render.name} hydrated from {source_sha[:12]} ({subject})", ""]
    if render.releases:
        lines.append("Charts:")
        lines += [
            f"  {r.release.name}: {r.chart_name} {r.version}"
            for r in sorted(render.releases, key=lambda r: r.release.name)
        ]
    found = images(render.tree.resources)
    if found:
        lines.append("Images:")
        lines += [f"  {image}" for image in found]
    lines += ["", f"Toolkit-Source: {source_sha}"]
    return "\n".join(lines) + "\n"
