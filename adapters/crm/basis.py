"""Field-level staleness: which of the fields a write was planned on no longer hold the values seen.

A proposal depends on the fields it changes and on those it read to decide (a deal's currency for
an amount change). It is stale only when one of those moved; a change to any other field of the
record does not block it. Every adapter answers the question the same way, through this function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.crm.base import Record, RecordKind
from adapters.crm.fields import validate_fields


def _same(now: Any, then: Any) -> bool:
    # An empty text and no value are the same to a person reading the record (and to HubSpot).
    if now in (None, "") and then in (None, ""):
        return True
    if isinstance(now, tuple) and isinstance(then, list):
        then = tuple(then)
    return bool(now == then)


def moved_fields(kind: RecordKind, current: Record, basis: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields of basis (field -> value as planned, JSON form) whose value in current differs."""
    planned = dict(basis)
    # Required fields cannot be "set to nothing" by validation, yet a plan may have seen them so.
    typed = validate_fields(kind, {k: v for k, v in planned.items() if v is not None}, create=False)
    return tuple(sorted(field for field, value in planned.items()
                        if not _same(getattr(current, field, None), typed.get(field, value))))
