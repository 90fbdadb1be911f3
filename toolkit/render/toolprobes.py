"""Asking a helm or kustomize binary what it is, remembered in the cache by the binary's stamp."""

from __future__ import annotations

import contextlib
import functools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

from toolkit.infra.errors import ToolkitError
from toolkit.infra.paths import cache_dir
from toolkit.infra.process import ProcessError, indent, run
from toolkit.render.provision import Stamp, file_stamp


class ToolError(ToolkitError):
    """helm or kustomize cannot be found or run (exit 2)."""

    exit_code = 2


@functools.cache
def _helm_version(path: Path, stamp: Stamp) -> str:
    try:
        out = run([path, "version", "--template", "{{.Version}}"]).stdout
    except ProcessError as exc:
        raise ToolError(f"{path} does not run as helm:\n{indent(str(exc))}") from exc
    version = out.decode(errors="replace").strip()
    match = re.fullmatch(r"v(\d+)\.\d+\.\d+\S*", version)
    if match is None:
        raise ToolError(f"{path} is not helm: `helm version` printed {version!r}")
    if match[1] not in ("3", "4"):
        raise ToolError(f"{path} is helm {version}; toolkit needs helm 3.x or 4.x")
    return version


@functools.cache
def _kustomize_version(path: Path, stamp: Stamp) -> tuple[str, str]:
    """(kustomize version, subcommand), telling kubectl from kustomize by how each answers."""
    version = _kubectl_kustomize_version(path)
    if version is not None:
        return version, "kustomize"
    return _standalone_kustomize_version(path), "build"


def _kubectl_kustomize_version(path: Path) -> str | None:
    """The kustomizeVersion a kubectl reports; None when path does not answer like kubectl."""
    try:
        report = json.loads(run([path, "version", "--client", "-o", "json"]).stdout)
    except (ProcessError, ValueError):
        return None
    if not isinstance(report, dict) or "clientVersion" not in report:
        return None
    version = report.get("kustomizeVersion")
    if not isinstance(version, str) or not version:
        raise ToolError(f"{path} is a kubectl without kustomize built in (needs kubectl 1.14+)")
    return version


def _standalone_kustomize_version(path: Path) -> str:
    try:
        out = run([path, "version"]).stdout.decode(errors="replace").strip()
    except ProcessError as exc:
        raise ToolError(
            f"{path} runs neither as kustomize nor as kubectl:\n{indent(str(exc))}"
        ) from exc
    # kustomize 5 prints "v5.6.0"; older ones "{Version:kustomize/v4.5.7 GitCommit:...}".
    match = re.match(r"(?:\{Version:kustomize/)?(v\d+\.\d+\.\d+[^\s,}]*)", out)
    if match is None:
        raise ToolError(f"{path} is not kustomize: `kustomize version` printed {out!r}")
    return match[1]


_PROBES = "tool-probes.json"
_RACY_NS = 3_000_000_000


class NotRemembered(Exception):
    """A probe that `remembered_only` kept from running its tool (never an error a user sees:
    not a ToolkitError, so that no look-up takes it for a tool that does not work)."""


_REMEMBERED_ONLY: ContextVar[bool] = ContextVar("tool probes remembered only", default=False)


@contextlib.contextmanager
def remembered_only() -> Iterator[None]:
    """Within the block, a probe whose answer is not remembered raises NotRemembered rather
    than running the tool: a caller asks memory first, and runs what is left side by side."""
    token = _REMEMBERED_ONLY.set(True)
    try:
        yield
    finally:
        _REMEMBERED_ONLY.reset(token)


def _probed(
    kind: str, path: Path, stamp: Stamp, probe: Callable[[], tuple[str, ...]]
) -> tuple[str, ...]:
    """A probe's answer, remembered in the cache by the binary's stamp.

    Every run needs the tools' versions (they are part of each render's cache key), and asking
    costs a process per tool per run; a binary that is replaced gets another stamp and is asked
    again. A binary written in the last few seconds is not remembered (its stamp may not move
    on a rewrite within the file system's timestamp granularity).
    """
    store = cache_dir() / _PROBES
    key = f"{kind}\0{path}"
    entry = _known(store).get(key)
    if isinstance(entry, dict) and entry.get("stamp") == list(stamp):
        answer = entry.get("answer")
        if isinstance(answer, list) and all(isinstance(a, str) for a in answer):
            return tuple(answer)
    if _REMEMBERED_ONLY.get():
        raise NotRemembered(kind)
    fresh = probe()
    if time.time_ns() - stamp[1] >= _RACY_NS:
        # helm and kustomize are probed side by side: each adds its answer to the file as it
        # stands then, or one would write over the other's.
        from toolkit.infra import atomicfiles  # only a new answer is written

        with _STORING:
            known = _known(store)
            known[key] = {"stamp": list(stamp), "answer": list(fresh)}
            with contextlib.suppress(atomicfiles.WriteError):  # else the next run asks again
                atomicfiles.replace_file(store, json.dumps(known).encode())
    return fresh


_STORING = threading.Lock()


def _known(store: Path) -> dict[str, object]:
    try:
        known = json.loads(store.read_text())
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def helm_version(path: Path) -> str:
    """The version of the helm at `path`, e.g. "v3.18.0"."""
    stamp = file_stamp(path)
    (version,) = _probed("helm", path, stamp, lambda: (_helm_version(path, stamp),))
    return version


def kustomize_version(path: Path) -> tuple[str, str]:
    """(kustomize version, subcommand) of the kustomize or kubectl at `path`."""
    stamp = file_stamp(path)
    version, subcommand = _probed("kustomize", path, stamp, lambda: _kustomize_version(path, stamp))
    return version, subcommand
