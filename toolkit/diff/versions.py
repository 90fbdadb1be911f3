"""What a reviewer looks for first: the chart versions and container images that changed, per
environment. Chart versions come from what each side rendered (the lock, or the rendered
branch's hydrator.metadata); images from the containers of every pod spec in the resources."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from toolkit.manifests.model import Resource

_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
_DIGEST_SHOWN = 12  # hex digits of an image digest shown (as git shows a commit)


@dataclass(frozen=True)
class VersionChange:
    """A chart (by release) or an image (by repository) whose version differs: every version
    each side runs, sorted; an empty side is one that does not run it."""

    name: str
    old: tuple[str, ...]
    new: tuple[str, ...]


def _changes(
    base: Mapping[str, set[str]], head: Mapping[str, set[str]]
) -> tuple[VersionChange, ...]:
    return tuple(
        VersionChange(name, tuple(sorted(base.get(name, ()))), tuple(sorted(head.get(name, ()))))
        for name in sorted(base.keys() | head.keys())
        if base.get(name, set()) != head.get(name, set())
    )


def chart_changes(base: Mapping[str, str], head: Mapping[str, str]) -> tuple[VersionChange, ...]:
    """Releases whose chart version differs (release name -> version on each side)."""
    return _changes(
        {name: {version} for name, version in base.items()},
        {name: {version} for name, version in head.items()},
    )


def _images(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _CONTAINER_LISTS and isinstance(value, list):
                for container in value:
                    image = container.get("image") if isinstance(container, dict) else None
                    if isinstance(image, str) and image:
                        yield image
            else:
                yield from _images(value)
    elif isinstance(node, list):
        for item in node:
            yield from _images(item)


def split_image(image: str) -> tuple[str, str]:
    """(repository, tag and/or short digest) of an image reference; the tag is what follows
    the last `:` after the last `/` (a registry's port is not a tag)."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    repository, tag = (name[:colon], name[colon + 1 :]) if colon > slash else (name, "")
    if digest:
        algorithm, _, value = digest.partition(":")
        short = f"{algorithm}:{value[:_DIGEST_SHOWN]}"
        tag = f"{tag}@{short}" if tag else short
    return repository, tag or "latest"


def _images_of(resources: Iterable[Resource]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for resource in resources:
        for image in _images(resource.body.get("spec")):
            repository, tag = split_image(image)
            found.setdefault(repository, set()).add(tag)
    return found


def image_changes(
    base: Iterable[Resource],
    head: Iterable[Resource],
    alike: Callable[[], Iterable[Resource]] = tuple,
) -> tuple[VersionChange, ...]:
    """Image repositories whose tags (or digests) differ between the two sides.

    `alike`: the resources both sides hold the same, besides `base` and `head`. They add the
    same tags to both, so they are read only for a repository whose tags in the others differ
    (to list every tag each side runs), which spares parsing them for most changes."""
    base_found, head_found = _images_of(base), _images_of(head)
    differing = {
        name
        for name in base_found.keys() | head_found.keys()
        if base_found.get(name, set()) != head_found.get(name, set())
    }
    if differing:
        for name, found in _images_of(alike()).items():
            if name in differing:
                base_found.setdefault(name, set()).update(found)
                head_found.setdefault(name, set()).update(found)
    return _changes(base_found, head_found)
