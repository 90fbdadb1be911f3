"""The directory and stdout sinks of `toolkit render`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.hydrate import metadata
from toolkit.infra import atomicfiles
from toolkit.infra.errors import InputError

if TYPE_CHECKING:
    from toolkit.render.rendering import EnvironmentRender


def as_stream(renders: Sequence[EnvironmentRender]) -> str:
    """Every resource as one YAML stream, each document headed by the file it would be."""
    parts = []
    for render in renders:
        for path, data in render.tree.files.items():
            parts.append(f"---\n# {render.name}/{path}\n{data.decode()}")
    return "".join(parts)


def write_environments(output: Path, trees: Sequence[Mapping[str, bytes]]) -> None:
    """Replace each `<output>/<env>/` with its files (paths start with `<env>/`), all of them or
    none, a crash included (see atomicfiles.py).

    A directory there that toolkit did not write (no hydrator.metadata) is refused, never deleted.
    """
    atomicfiles.recover(output)  # an earlier render -o killed half way is put back first
    with atomicfiles.all_or_nothing(output) as changes:
        for files in trees:
            (env,) = {path.split("/", 1)[0] for path in files}
            target = output / env
            if target.exists() and not (target / metadata.FILE_NAME).is_file():
                raise InputError(
                    f"{target} exists and was not written by toolkit: choose another -o "
                    "directory or remove it"
                )
            changes.replace_directory(
                target, {path.split("/", 1)[1]: data for path, data in files.items()}
            )
