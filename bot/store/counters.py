"""The limits' counters in the database: a `limits` storage that every replica shares.

The guarantee: an increment is one atomic statement (INSERT … ON CONFLICT DO UPDATE … RETURNING),
so two processes charging the same counter at once both count, on SQLite and on PostgreSQL alike;
none is lost and none is counted twice. A row past its expiry counts as zero and the next
increment starts it afresh in the same statement. Only the fixed-window part of the `limits`
storage interface is implemented (counters with an expiry), which is all the limits use.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from limits.storage import Storage
from sqlalchemy import Engine, case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from bot.store.tables import LimitCounter

PRUNE_EVERY_S = 3600.0  # expired rows are deleted at most this often per process
_TABLE = LimitCounter.__table__  # type: ignore[attr-defined]


class SqlCounters(Storage):
    """A `limits` storage over the limit_counter table. `clock` gives seconds since the epoch."""

    STORAGE_SCHEME = None  # built by the wiring from the engine, never from a URL

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._engine, self._clock = engine, clock
        self._insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        self._next_prune = 0.0

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int | float, amount: int = 1) -> int:
        """Add `amount` to the counter and return its new value; a missing or expired counter
        starts at `amount` and expires `expiry` seconds from now."""
        now = self._clock()
        fresh = self._insert(_TABLE).values(key=key, value=amount, expires_at=now + expiry)
        expired = _TABLE.c.expires_at <= now
        # Every SET expression sees the row as it was before this statement (SQL's rule, kept by
        # both databases), so `expired` means the same thing in both.
        statement = fresh.on_conflict_do_update(
            index_elements=[_TABLE.c.key],
            set_={"value": case((expired, fresh.excluded.value), else_=_TABLE.c.value + fresh.excluded.value),
                  "expires_at": case((expired, fresh.excluded.expires_at), else_=_TABLE.c.expires_at)},
        ).returning(_TABLE.c.value)
        with self._engine.begin() as conn:
            value = int(conn.execute(statement).scalar_one())
            if now >= self._next_prune:
                self._next_prune = now + PRUNE_EVERY_S
                conn.execute(delete(_TABLE).where(_TABLE.c.expires_at <= now))
        return value

    def get(self, key: str) -> int:
        """The counter's value; 0 when it is missing or expired."""
        row = self._row(key)
        return int(row.value) if row is not None else 0

    def get_expiry(self, key: str) -> float:
        """When the counter expires (seconds since the epoch); now when it is missing or expired."""
        row = self._row(key)
        return float(row.expires_at) if row is not None else self._clock()

    def check(self) -> bool:
        try:
            with self._engine.connect() as conn:
                conn.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self._engine.begin() as conn:
            return int(conn.execute(delete(_TABLE)).rowcount)

    def clear(self, key: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(_TABLE).where(_TABLE.c.key == key))

    def _row(self, key: str):  # type: ignore[no-untyped-def]
        query = select(_TABLE.c.value, _TABLE.c.expires_at).where(_TABLE.c.key == key,
                                                                   _TABLE.c.expires_at > self._clock())
        with self._engine.connect() as conn:
            return conn.execute(query).first()
