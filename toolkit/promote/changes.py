"""What a plan reports per release and image: promoted (from -> to), unchanged, or not
promoted with why."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class PromotionStatus(str, Enum):
    """What a promotion does with one release or image of SRC."""

    PROMOTED = "promoted"
    UNCHANGED = "unchanged"  # DST runs it already
    NOT_PROMOTED = "not promoted"  # it cannot be (the reason says why)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ReleasePromotion:
    name: str
    status: PromotionStatus
    before: str | None  # what DST runs now: its locked version, else its version constraint
    after: str | None  # SRC's locked version
    reason: str = ""  # why it is not promoted
    constraint: str | None = None  # DST's `version:` as written before the promotion
    pinned_because: str = ""  # why `version:` becomes exactly `after` ("": it stays as written)
    dependencies: str = ""  # how a local chart's dependency pins change, e.g. `dependency a 1 -> 2`


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ImagePromotion:
    name: str
    status: PromotionStatus
    changes: tuple[FieldChange, ...] = ()
    reason: str = ""
