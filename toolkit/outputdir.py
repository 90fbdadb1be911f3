"""The directory and stdout sinks of `toolkit render`."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from toolkit.errors import InputError
from toolkit.pipeline import EnvironmentRender

OWNER_MARK = "hydrator.metadata"


def as_stream(renders: Sequence[EnvironmentRender]) -> str:
    """Every resource as one YAML stream, each document headed by the file it would be."""
    parts = []
    for render in renders:
        for path, data in render.tree.files.items():
            parts.append(f"---\n# {render.name}/{path}\n{data.decode()}")
    return "".join(parts)


def write_environment(output: Path, files: Mapping[str, bytes]) -> None:
    """Replace `<output>/<env>/` with `files` (paths start with `<env>/`) in one rename.

    A directory there that toolkit did not write (no hydrator.metadata) is refused, never deleted.
    """
    envs = {path.split("/", 1)[0] for path in files}
    (env,) = envs
    target = output / env
    if target.exists() and not (target / OWNER_MARK).is_file():
        raise InputError(
            f"{target} exists and was not written by toolkit: choose another -o directory "
            "or remove it"
        )
    output.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{env}-", dir=output))
    try:
        for path, data in files.items():
            destination = staging / path.split("/", 1)[1]
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(data)
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{env}-old-", dir=output))
            target.rename(retired / env)
            staging.rename(target)
            shutil.rmtree(retired)
        else:
            staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
