"""`toolkit lock`: resolve chart constraints and write each environment's releases.lock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from toolkit.charts import lockfile
from toolkit.config.project import Config
from toolkit.render.settings import RenderSettings


@dataclass(frozen=True)
class LockOptions:
    environments: tuple[str, ...] = ()  # all when none
    upgrade: tuple[str, ...] | None = None  # re-resolve these releases; () every one


@dataclass(frozen=True)
class LockResult:
    changes: tuple[lockfile.LockChange, ...]

    def as_dict(self) -> list[dict[str, Any]]:
        return [
            {
                "environment": c.environment,
                "release": c.release,
                "from": c.before.version if c.before else None,
                "to": c.after.version if c.after else None,
            }
            for c in self.changes
        ]

    def lines(self) -> list[str]:
        return [c.describe() for c in self.changes] or ["releases.lock is up to date"]


def lock(config: Config, options: LockOptions, settings: RenderSettings) -> LockResult:
    """Entries that still satisfy their release are kept; with `settings.locked`, any change
    is an error."""
    changes = lockfile.lock_environments(
        config,
        config.select(options.environments),
        upgrade=options.upgrade,
        locked=settings.locked,
    )
    return LockResult(tuple(changes))
