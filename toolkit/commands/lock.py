"""`toolkit lock`: resolve chart constraints and write each environment's releases.lock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from toolkit.charts import lockfile, locking
from toolkit.config.project import Config
from toolkit.render.settings import RenderSettings


@dataclass(frozen=True)
class LockOptions:
    environments: tuple[str, ...] = ()  # all when none
    upgrade: tuple[str, ...] | None = None  # re-resolve these releases; () every one


@dataclass(frozen=True)
class Pin:
    """One release's entry in its environment's lock after the run."""

    environment: str
    entry: lockfile.LockEntry


@dataclass(frozen=True)
class LockResult:
    changes: tuple[locking.LockChange, ...]
    pins: tuple[Pin, ...] = ()  # every entry of the locks, changed or not

    def as_dict(self) -> dict[str, Any]:
        """Every pin (a script reads the current versions from an up-to-date lock too), each
        saying whether this run changed it, and the entries it removed."""
        before = {(c.environment, c.release): c.before for c in self.changes}
        return {
            "pins": [
                {
                    "environment": pin.environment,
                    "release": pin.entry.release,
                    "chart": pin.entry.chart,
                    "repository": pin.entry.repository,
                    "constraint": pin.entry.constraint,
                    "version": pin.entry.version,
                    "digest": pin.entry.digest,
                    "changed": (pin.environment, pin.entry.release) in before,
                    "previousVersion": _previous(pin, before),
                }
                for pin in self.pins
            ],
            "removed": [
                {"environment": c.environment, "release": c.release, "version": c.before.version}
                for c in self.changes
                if c.after is None and c.before is not None
            ],
        }

    def lines(self) -> list[str]:
        return [c.describe() for c in self.changes] or ["releases.lock is up to date"]


def _previous(pin: Pin, before: dict[tuple[str, str], lockfile.LockEntry | None]) -> str | None:
    """The version the lock held before the run (None for a release locked for the first time)."""
    key = (pin.environment, pin.entry.release)
    if key not in before:
        return pin.entry.version
    entry = before[key]
    return entry.version if entry else None


def lock(config: Config, options: LockOptions, settings: RenderSettings) -> LockResult:
    """Entries that still satisfy their release are kept; with `settings.locked`, any change
    is an error."""
    selected = config.select(options.environments)
    changes = locking.lock_environments(
        config, selected, upgrade=options.upgrade, locked=settings.locked
    )
    pins: list[Pin] = []
    for env in selected:  # the locks as written (or, up to date, as they were)
        written = lockfile.read_lock(env.directory, root=config.root)
        pins += [Pin(env.name, entry) for entry in (written.entries if written else ())]
    return LockResult(tuple(changes), tuple(pins))
