"""How a run renders, decided once by the CLI and handed to every command that renders."""

from __future__ import annotations

from dataclasses import dataclass

from toolkit.infra.reporter import SILENT, Reporter
from toolkit.render.progress import UNWATCHED, Watcher


@dataclass(frozen=True)
class ToolChoice:
    """Which helm and kustomize to use: explicit paths, or discovery."""

    helm: str | None = None
    kustomize: str | None = None


@dataclass(frozen=True)
class RenderSettings:
    tools: ToolChoice = ToolChoice()
    jobs: int = 1  # renders run in parallel
    locked: bool = False  # a stale releases.lock is an error, not resolved in memory
    use_cache: bool = True  # False (--no-cache): every render runs, nothing is answered
    reporter: Reporter = SILENT  # where warnings (a stale lock) and notes go
    watcher: Watcher = UNWATCHED  # hears how renders go (a terminal's live display)
